/* A small `lua SCRIPT [ARGS...]` for wasm32-wasi: runs SCRIPT with the global `arg` table set
 * as the standalone interpreter sets it (arg[0] = SCRIPT, arg[1..] = ARGS).
 * Exit status: 0 when the script ends, 1 on an error (message on stderr), or os.exit's status. */
#include <stdio.h>
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char *progname = "lua";

/* Called by luaD_throw (see lua_wasi.h): the error object is on top of the stack. */
void chiwawa_lua_throw(lua_State *L, int status) {
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL) msg = "(error object is not a string)";
  fprintf(stderr, "%s: %s\n", progname, status == LUA_ERRMEM ? "not enough memory" : msg);
  fflush(stdout);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc > 0 && argv[0] != NULL) progname = argv[0];
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", progname);
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return 1;
  }
  luaL_openlibs(L);
  lua_createtable(L, argc - 1, 1);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  if (luaL_dofile(L, argv[1]) != LUA_OK) {
    /* Only reached for errors reported by status (e.g. a missing script file). */
    fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_close(L);
  return 0;
}
