/* Force-included (-include) into every Lua source file of the wasm32-wasi build.
 *
 * Lua raises errors with longjmp, which this wasi-libc lacks (and Wasm's setjmp/longjmp
 * lowering needs the exception-handling proposal, which chiwawa does not claim). So a protected
 * call just runs its body, and raising an error reports it and exits with status 1, as the
 * standalone `lua` does for an uncaught error: pcall of a function that fails ends the program.
 * Coroutine yields from C (coroutine.yield) also need longjmp and likewise end the program. */
#ifndef CHIWAWA_LUA_WASI_H
#define CHIWAWA_LUA_WASI_H

struct lua_State;
void chiwawa_lua_throw(struct lua_State *L, int status) __attribute__((noreturn));

#define LUAI_THROW(L, c) chiwawa_lua_throw(L, (c)->status)
#define LUAI_TRY(L, c, a) { a }
#define luai_jmpbuf int

#endif
