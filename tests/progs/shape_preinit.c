/*
 * The first instrumented call comes from .preinit_array, before libc has
 * set up environ and before any constructor, the runtimes' included:
 * preinit_hook 1 -> early_work 3; then main 1 -> main_work 1.
 */
static volatile long sink;

__attribute__((noinline)) static void early_work(void)
{
	sink++;
}

static void preinit_hook(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	for (int i = 0; i < 3; i++)
		early_work();
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **, char **) = preinit_hook;

__attribute__((noinline)) static void main_work(void)
{
	sink++;
}

int main(void)
{
	main_work();
	return 0;
}
