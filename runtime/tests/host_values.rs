//! Values crossing from host functions into guest code: a 32-bit result is zero-extended in
//! its slot whatever the host wrote in the upper half, because the translator relies on it
//! (`i64.extend_i32_u` costs no instruction).

mod common;

use std::rc::Rc;

use chiwawa_format::{valtype, FuncType};
use chiwawa_runtime::store::{Extern, Store};
use chiwawa_runtime::{load_image, Val, VerifyMode};
use chiwawa_translator::{translate, Options};
use common::wat;

#[test]
fn a_host_i32_result_is_zero_extended() {
    let module = r#"(module
      (import "host" "dirty" (func $dirty (result i32)))
      (import "host" "dirty_f32" (func $dirty_f32 (result f32)))
      (func (export "widen") (result i64) (i64.extend_i32_u (call $dirty)))
      (func (export "widen_f32") (result i64)
        (i64.extend_i32_u (i32.reinterpret_f32 (call $dirty_f32)))))"#;
    let image = translate(&wat(module), &Options::default()).expect("translate");
    let checked = load_image(&image, VerifyMode::Eager).expect("load");
    let mut store = Store::new();
    let mut imports = |store: &mut Store, _: &str, name: &str| {
        let (ty, bits) = match name {
            "dirty" => (valtype::I32, 0xdead_beef_8000_0005u64),
            _ => (valtype::F32, 0xffff_ffff_3f80_0000u64),
        };
        let ty = FuncType {
            params: vec![],
            results: vec![ty],
        };
        let f = store.add_host_func(
            ty,
            Rc::new(move |_, _, results: &mut [u64]| {
                results[0] = bits;
                Ok(())
            }),
        );
        Some(Extern::Func(f))
    };
    let instance = store
        .instantiate(&checked, &mut imports)
        .expect("instantiate");
    for (name, want) in [("widen", 0x8000_0005i64), ("widen_f32", 0x3f80_0000)] {
        let Some(Extern::Func(f)) = store.export(instance, name) else {
            panic!("no export {name}")
        };
        assert_eq!(store.invoke(f, &[]), Ok(vec![Val::I64(want)]), "{name}");
    }
}
