// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the service and container read from a cgroup path
 * (user/target/origin.c), on the /proc/PID/cgroup texts that systemd,
 * docker, containerd, CRI-O, podman and Kubernetes produce.
 */
#include <string.h>
#include "origin.h"
#include "unit.h"

#define ID "4f3a2b1c9d8e7f60a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef01"

static void expect(const char *cgroup, const char *service, const char *container)
{
	struct proc_origin o;

	origin__parse(cgroup, &o);
	CHECK_EQ_STR(o.service, service);
	CHECK_EQ_STR(o.container_id, container);
}

int main(void)
{
	/* systemd units, cgroup v2. */
	expect("0::/system.slice/nginx.service\n", "nginx", "");
	expect("0::/system.slice/gunicorn@api.service\n", "gunicorn@api", "");
	expect("0::/system.slice/app.service/worker\n", "app", "");
	/* A user's own services: the innermost unit, not user@1000.service. */
	expect("0::/user.slice/user-1000.slice/user@1000.service/app.slice/jupyter.service\n",
	       "jupyter", "");
	/* A login session has no unit: nothing (the caller uses comm). */
	expect("0::/user.slice/user-1000.slice/session-3.scope\n", "", "");
	expect("0::/init.scope\n", "", "");
	expect("0::/\n", "", "");
	/* Containers: systemd cgroup driver scopes. */
	expect("0::/system.slice/docker-" ID ".scope\n", "docker/4f3a2b1c9d8e", ID);
	expect("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
	       "cri-containerd-" ID ".scope\n", "containerd/4f3a2b1c9d8e", ID);
	expect("0::/kubepods.slice/kubepods-pod99.slice/crio-" ID ".scope\n",
	       "cri-o/4f3a2b1c9d8e", ID);
	expect("0::/machine.slice/libpod-" ID ".scope/container\n", "podman/4f3a2b1c9d8e", ID);
	/* Rootless podman below the user's manager: the container is innermost. */
	expect("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
	       ".scope\n", "podman/4f3a2b1c9d8e", ID);
	/* cgroupfs driver paths. */
	expect("0::/docker/" ID "\n", "docker/4f3a2b1c9d8e", ID);
	expect("0::/kubepods/burstable/pod0c1b2a39-aaaa-bbbb-cccc-1234567890ab/" ID "\n",
	       "kubernetes/4f3a2b1c9d8e", ID);
	/* cgroup v1: the systemd hierarchy's line wins over the controllers'. */
	expect("12:cpu,cpuacct:/docker/" ID "\n"
	       "1:name=systemd:/system.slice/postgresql.service\n", "postgresql", "");
	expect("4:memory:/system.slice/docker-" ID ".scope\n", "docker/4f3a2b1c9d8e", ID);
	/* v2's unified line wins on a hybrid system. */
	expect("1:name=systemd:/system.slice/old.service\n0::/system.slice/new.service\n",
	       "new", "");
	/* Not ids: wrong length, upper case, no .scope. */
	expect("0::/system.slice/docker-" ID "0.scope\n", "", "");
	expect("0::/system.slice/docker-4F3A2B1C9D8E7F60A1B2C3D4E5F60718293A4B5C6D7E8F9012345678ABCDEF01.scope\n",
	       "", "");
	expect("0::/system.slice/docker-" ID "\n", "", "");
	/* A hostile unit name is cut, never overflows. */
	{
		char big[1200] = "0::/system.slice/";
		struct proc_origin o;

		memset(big + strlen(big), 'a', 1000);
		strcat(big, ".service\n");
		origin__parse(big, &o);
		CHECK(strlen(o.service) < sizeof(o.service));
		CHECK(o.service[0] == 'a');
	}
	/* Garbage. */
	expect("", "", "");
	expect("no colons at all\n", "", "");
	expect("0::", "", "");
	expect("::/.service", "", "");
	return unit_report("origin");
}
