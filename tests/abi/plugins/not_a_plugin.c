/* A real shared library without the entry function. */
int not_a_plugin_answer(void);
int not_a_plugin_answer(void) { return 42; }
