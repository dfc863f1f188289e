/* Debian's wasi-libc has no <setjmp.h> (WebAssembly without exception handling cannot
 * unwind the C stack). Lua's ldo.c includes it unconditionally; with LUAI_THROW/LUAI_TRY
 * defined by lua_wasi.h nothing from it is used. */
#ifndef CHIWAWA_SETJMP_SHIM_H
#define CHIWAWA_SETJMP_SHIM_H
#endif
