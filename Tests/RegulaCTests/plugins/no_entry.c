/* A shared library that is not a Regula plugin: it exports no regula_plugin_entry. */
int regula_plugin_entri(void) { return 1; }
