/* libshape_dtor.so for shape_libdtor: lib_dtor -> lib_dtor_work 5 at unload. */
static volatile long sink;

__attribute__((noinline)) static void lib_dtor_work(void)
{
	sink++;
}

__attribute__((destructor)) static void lib_dtor(void)
{
	for (int i = 0; i < 5; i++)
		lib_dtor_work();
}

void lib_touch(void);
void lib_touch(void)
{
	sink++;
}
