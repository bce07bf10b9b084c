# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gdb script (gdb -p PID -batch -x tlbc_frames.gdb.py): for each Python
# frame of each thread of a CPython 3.13+ built with debug info, print
#   frame tid=NATIVE_TID tlbc=INDEX adaptive=0|1
# where adaptive=1 means instr_ptr points into the code object's own
# co_code_adaptive, and 0 that it points elsewhere: into a thread-local
# copy of the bytecode (free-threaded 3.14+). tlbc is 0 where the frame
# has no tlbc_index field. Independent of pybpfprof: it is how the tests
# prove that a free-threaded target really runs thread-local bytecode.
import gdb


def field_names(value):
    return {f.name for f in value.type.strip_typedefs().fields()}


def untag(ref):
    """A PyObject * from f_executable: a tagged _PyStackRef on 3.14+."""
    t = ref.type.strip_typedefs()
    if t.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return int(ref["bits"]) & ~3
    return int(ref)


code_ptr = gdb.lookup_type("PyCodeObject").pointer()
tstate = gdb.parse_and_eval("_PyRuntime")["interpreters"]["head"]["threads"]["head"]
while int(tstate):
    frame = tstate["current_frame"]
    while int(frame):
        fields = field_names(frame.dereference())
        executable = untag(frame["f_executable"])
        if int(frame["owner"]) < 3 and executable:
            code = gdb.Value(executable).cast(code_ptr)
            start = int(code["co_code_adaptive"].address)
            size = int(code["ob_base"]["ob_size"]) * 2
            ip = int(frame["instr_ptr"])
            tlbc = int(frame["tlbc_index"]) if "tlbc_index" in fields else 0
            print("frame tid=%d tlbc=%d adaptive=%d"
                  % (int(tstate["native_thread_id"]), tlbc,
                     int(start <= ip < start + size)))
        frame = frame["previous"]
    tstate = tstate["next"]
