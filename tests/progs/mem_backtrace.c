/*
 * The host's own backtrace() and _Unwind_Backtrace must stay glibc's and
 * libgcc's under the malloc shim (which unwinds with libunwind): prints
 * where they resolve and how many frames backtrace() sees.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <string.h>

static const char *owner(const void *addr)
{
	Dl_info info;

	if (!addr || !dladdr(addr, &info) || !info.dli_fname)
		return "none";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

__attribute__((noinline)) static int depth3(void)
{
	void *frames[64];
	return backtrace(frames, 64);
}

__attribute__((noinline)) static int depth2(void)
{
	return depth3() + 0;
}

__attribute__((noinline)) static int depth1(void)
{
	return depth2() + 0;
}

int main(void)
{
	int n = depth1();

	printf("backtrace() frames: %d\n", n);
	printf("backtrace in: %s\n", owner(dlsym(RTLD_DEFAULT, "backtrace")));
	printf("_Unwind_Backtrace in: %s\n", owner(dlsym(RTLD_DEFAULT, "_Unwind_Backtrace")));
	printf("unw_backtrace in: %s\n", owner(dlsym(RTLD_DEFAULT, "unw_backtrace")));
	return 0;
}
