/* sendmail_parse.c: placeholder for the sendmail command's pure parsers. */
int sendmail_parse_placeholder(void);
int sendmail_parse_placeholder(void) { return 0; }
