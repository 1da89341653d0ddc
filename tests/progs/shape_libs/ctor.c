/* libshape_ctor.so for shape_ctors: lib_ctor -> lib_ctor_work 2 at load. */
static volatile long sink;

__attribute__((noinline)) static void lib_ctor_work(void)
{
	sink++;
}

__attribute__((constructor)) static void lib_ctor(void)
{
	lib_ctor_work();
	lib_ctor_work();
}

void lib_call(void);
void lib_call(void)
{
	sink++;
}
