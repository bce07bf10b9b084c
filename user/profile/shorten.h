/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Readable file names: "json/decoder.py", not
 * "/usr/lib/python3.11/json/decoder.py". A file is shown relative to the
 * sys.path entry that holds it, as py-spy does; sys.path of a process
 * that may be gone is not at hand, so the entry is inferred from the
 * path alone (py-spy looks for __init__.py files instead, which needs
 * the target's file system):
 *
 *  - below a site-packages or dist-packages directory (the last one):
 *    what follows it, "requests/api.py";
 *  - below lib/pythonX.Y (lib64 too, X.Yt too): the standard library,
 *    what follows it, "json/decoder.py";
 *  - below the directory of a main script, the file of a root-most
 *    "<module>" frame (sys.path[0]): what follows it, "app/views.py";
 *  - anything else (relative names, "<frozen ...>", binaries) as it is.
 *
 * Two files never share a name: when two would, each takes back
 * directories above it until they differ (the full path at worst).
 */
#ifndef __SHORTEN_H
#define __SHORTEN_H

#include "aggregate.h"

/*
 * A copy of @a whose frames have short file names; the stacks, counts
 * and processes are the same. NULL when out of memory.
 */
struct agg *shorten__apply(const struct agg *a);

#endif /* __SHORTEN_H */
