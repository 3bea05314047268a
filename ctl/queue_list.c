/* queue_list.c: placeholder */
int queue_list_placeholder(void);
int queue_list_placeholder(void) { return 0; }
