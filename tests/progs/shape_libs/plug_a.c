/* Plugin a of shape_dlopen: plug_a_entry(n) calls plug_a_leaf n times. */
static volatile long sink;

__attribute__((noinline)) static void plug_a_leaf(void)
{
	sink++;
}

void plug_a_entry(int n);
void plug_a_entry(int n)
{
	for (int i = 0; i < n; i++)
		plug_a_leaf();
}
