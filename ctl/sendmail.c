/* sendmail.c: placeholder; the sendmail command is being written. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "sendmail: not built yet\n");
	return 69;
}
