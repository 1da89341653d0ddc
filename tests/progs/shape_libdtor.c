/*
 * A DT_NEEDED library (libshape_dtor.so, tests/progs/shape.mk) whose
 * destructor calls instrumented code after main has returned and after
 * the program's own exit handlers: main 1 -> lib_touch 1; at exit
 * lib_dtor 1 -> lib_dtor_work 5.
 */
void lib_touch(void);

int main(void)
{
	lib_touch();
	return 0;
}
