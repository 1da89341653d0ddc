/* Plugin b of shape_dlopen: plug_b_entry(n) calls plug_b_leaf n times. */
static volatile long sink;

__attribute__((noinline)) static void plug_b_leaf(void)
{
	sink++;
}

void plug_b_entry(int n);
void plug_b_entry(int n)
{
	for (int i = 0; i < n; i++)
		plug_b_leaf();
}
