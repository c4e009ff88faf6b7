//! Raw Node-API entry points for the per-call hot paths, installed at module load over the
//! `#[napi]` functions of the same name: the matching engine's `engineSubmit`, `engineCancel`,
//! `engineReplace` (and their units twins `engineSubmitUnits`, `engineReplaceUnits`) and the per-bar `engineSeedLadder` / `engineRemoveLadder` of a backtest, and the
//! two calls every tool call makes, `guardDecide` and `guardRecordAck` (and `emptyCall`, the
//! floor the benchmark measures them against).
//!
//! Why: napi-rs 3 wraps every call in a borrow-tracking scope (an allocation and several
//! thread-local pushes), ~100-150 ns per call, and turns each string argument into a fresh
//! `String` (its UTF-8 length asked first, then copied). These callbacks read numbers with
//! `napi_get_value_double`, copy strings once into a reused per-thread buffer, create ASCII
//! answers as one-byte strings (no UTF-8 decoding), and call the very same safe functions.
//!
//! Invariants:
//! - The work is that of the `#[napi]` versions (the same safe functions, validation and results);
//!   a bad argument throws an `Error` naming it (napi status as `code`), arguments read in
//!   declaration order, before anything is touched. Everything runs inside [`crate::contain`], so
//!   a panic is a JS `Error`, never an abort.
//! - A string buffer is borrowed only while its call runs (the guard and engine never call back
//!   into JS, so nothing re-enters); one grown by a huge payload is given back afterwards.
//! - Installation runs at module load; if it fails, loading the addon fails (no half-installed
//!   set goes unnoticed).

// Calling Node-API directly is the point of this module; every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::ptr;
use std::thread::LocalKey;

use napi::{sys, Error, JsError, Result, Status};

pub(crate) mod decision;
pub(crate) mod layout;
pub(crate) mod shared;

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Strings up to this many UTF-8 bytes are read with one copy; longer ones ask their size first.
const BUFFER_BYTES: usize = 4096;
/// A buffer grown past this by one huge payload is given back after the call.
const BUFFER_KEEP_BYTES: usize = 64 * 1024;

thread_local! {
    /// A call's first string argument (`args`, `orderId`).
    static TEXT_BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(BUFFER_BYTES));
    /// A call's second string argument (`symbol`), read while the first is still borrowed.
    static SYMBOL_BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(BUFFER_BYTES));
}

pub(crate) fn install(env: sys::napi_env, exports: sys::napi_value) -> Result<()> {
    let entries: [(&CStr, Callback); 10] = [
        (c"engineSubmit", engine_submit),
        (c"engineSubmitUnits", engine_submit_units),
        (c"engineCancel", engine_cancel),
        (c"engineReplace", engine_replace),
        (c"engineReplaceUnits", engine_replace_units),
        (c"engineSeedLadder", engine_seed_ladder),
        (c"engineRemoveLadder", engine_remove_ladder),
        (c"guardDecide", guard_decide),
        (c"guardRecordAck", guard_record_ack),
        (c"emptyCall", empty_call),
    ];
    for (name, callback) in entries {
        let mut function = ptr::null_mut();
        // SAFETY: `env` and `exports` are the live values given to the module init hook, on its
        // thread; `name` is NUL-terminated and outlives the call.
        let status = unsafe {
            sys::napi_create_function(
                env,
                name.as_ptr(),
                name.to_bytes().len() as isize,
                Some(callback),
                ptr::null_mut(),
                &mut function,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                format!("cannot create {name:?}"),
            ));
        }
        // SAFETY: as above; `function` was just created in this env.
        let status = unsafe { sys::napi_set_named_property(env, exports, name.as_ptr(), function) };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                format!("cannot export {name:?}"),
            ));
        }
    }
    Ok(())
}

/// The first `N` arguments (missing ones read as `undefined`, so they fail their conversion).
///
/// # Safety
/// `env` and `info` must be the values N-API passed to the running callback.
unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<[sys::napi_value; N]> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    // SAFETY: `argv` has room for `argc` values (the caller's contract covers env/info).
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::GenericFailure,
            "cannot read the call arguments".to_owned(),
        ));
    }
    Ok(argv)
}

/// # Safety
/// `env` is the running callback's env and `value` one of its arguments.
unsafe fn number(env: sys::napi_env, value: sys::napi_value, field: &str) -> Result<f64> {
    let mut out = 0.0;
    // SAFETY: per the function contract; `out` is a valid f64 slot.
    if unsafe { sys::napi_get_value_double(env, value, &mut out) } == sys::Status::napi_ok {
        Ok(out)
    } else {
        Err(Error::new(
            Status::NumberExpected,
            format!("{field} must be a number"),
        ))
    }
}

/// # Safety
/// As for [`number`].
unsafe fn uint32(env: sys::napi_env, value: sys::napi_value, field: &str) -> Result<u32> {
    let mut out = 0;
    // SAFETY: per the function contract; `out` is a valid u32 slot.
    if unsafe { sys::napi_get_value_uint32(env, value, &mut out) } == sys::Status::napi_ok {
        Ok(out)
    } else {
        Err(Error::new(
            Status::NumberExpected,
            format!("{field} must be a number"),
        ))
    }
}

/// # Safety
/// As for [`number`].
unsafe fn boolean(env: sys::napi_env, value: sys::napi_value, field: &str) -> Result<bool> {
    let mut out = false;
    // SAFETY: per the function contract; `out` is a valid bool slot.
    if unsafe { sys::napi_get_value_bool(env, value, &mut out) } == sys::Status::napi_ok {
        Ok(out)
    } else {
        Err(Error::new(
            Status::BooleanExpected,
            format!("{field} must be a boolean"),
        ))
    }
}

/// # Safety
/// As for [`number`].
unsafe fn is_nullish(env: sys::napi_env, value: sys::napi_value, field: &str) -> Result<bool> {
    let mut kind = sys::ValueType::napi_undefined;
    // SAFETY: per the function contract; `kind` is a valid slot.
    if unsafe { sys::napi_typeof(env, value, &mut kind) } != sys::Status::napi_ok {
        return Err(Error::new(
            Status::InvalidArg,
            format!("cannot read the type of {field}"),
        ));
    }
    Ok(kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null)
}

/// Run `f` with this thread's `buffer`, giving back afterwards what one huge payload grew it to.
fn with_buffer<R>(
    buffer: &'static LocalKey<RefCell<Vec<u8>>>,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    buffer.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let result = f(&mut buffer);
        if buffer.capacity() > BUFFER_KEEP_BYTES {
            *buffer = Vec::with_capacity(BUFFER_BYTES);
        }
        result
    })
}

/// A JS string's UTF-8 (lone surrogates replaced, as Node-API does), copied into `buffer`.
///
/// # Safety
/// As for [`number`].
unsafe fn string<'b>(
    env: sys::napi_env,
    value: sys::napi_value,
    field: &str,
    buffer: &'b mut Vec<u8>,
) -> Result<&'b str> {
    buffer.clear();
    let mut len = 0usize;
    // SAFETY: per the function contract; the buffer has `capacity` writable bytes and Node-API
    // writes at most that many, NUL included.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env,
            value,
            buffer.as_mut_ptr().cast::<c_char>(),
            buffer.capacity(),
            &mut len,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::StringExpected,
            format!("{field} must be a string"),
        ));
    }
    // A copy that filled the buffer may have stopped short (it never splits a character, so the
    // margin covers the NUL and one 4-byte character): ask the size and copy again.
    if len + 5 > buffer.capacity() {
        // SAFETY: a NULL buffer only asks for the length.
        let sized =
            unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) };
        buffer.reserve(len + 1);
        // SAFETY: as above, with room for `len` bytes and the NUL.
        let copied = unsafe {
            sys::napi_get_value_string_utf8(
                env,
                value,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.capacity(),
                &mut len,
            )
        };
        if sized != sys::Status::napi_ok || copied != sys::Status::napi_ok {
            return Err(Error::new(
                Status::StringExpected,
                format!("cannot read {field} (napi status {sized}/{copied})"),
            ));
        }
    }
    // SAFETY: Node-API initialized the first `len` bytes.
    unsafe { buffer.set_len(len) };
    std::str::from_utf8(buffer).map_err(|e| {
        Error::new(
            Status::StringExpected,
            format!("{field} is not valid UTF-8: {e}"),
        )
    })
}

/// A JS value made from a call's result.
trait IntoRaw {
    /// # Safety
    /// `env` is the running callback's env.
    unsafe fn into_raw(self, env: sys::napi_env) -> sys::napi_value;
}

impl IntoRaw for f64 {
    unsafe fn into_raw(self, env: sys::napi_env) -> sys::napi_value {
        let mut out = ptr::null_mut();
        // SAFETY: live env; on failure `out` stays null, which N-API reads as undefined.
        unsafe { sys::napi_create_double(env, self, &mut out) };
        out
    }
}

impl IntoRaw for String {
    unsafe fn into_raw(self, env: sys::napi_env) -> sys::napi_value {
        let mut out = ptr::null_mut();
        let data = self.as_ptr().cast::<c_char>();
        // SAFETY: live env; both functions copy `len` bytes of `self` into a new JS string. An
        // ASCII text is also Latin-1, which V8 stores as is (no UTF-8 decoding pass).
        unsafe {
            if self.is_ascii() {
                sys::napi_create_string_latin1(env, data, self.len() as isize, &mut out);
            } else {
                sys::napi_create_string_utf8(env, data, self.len() as isize, &mut out);
            }
        }
        out
    }
}

/// Run one call: read its `N` arguments, run `body` contained, return its value or throw its error.
///
/// # Safety
/// `env` and `info` must be the values N-API passed to the running callback.
unsafe fn call<const N: usize, T: IntoRaw>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    what: &str,
    body: impl FnOnce([sys::napi_value; N]) -> Result<T>,
) -> sys::napi_value {
    // SAFETY: the function contract covers `env`/`info`.
    match crate::contain(what, || body(unsafe { args::<N>(env, info) }?)) {
        // SAFETY: live env (the function contract).
        Ok(value) => unsafe { value.into_raw(env) },
        Err(e) => {
            // SAFETY: live env, no exception pending (nothing above throws).
            unsafe { JsError::from(e).throw_into(env) };
            ptr::null_mut()
        }
    }
}

// SAFETY (every callback below): N-API calls it on the JS thread with this call's `env` and
// `info`, which is the contract of `call`, and of the readers for the argument handles it passes.

unsafe extern "C" fn engine_submit(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineSubmit", |a: [_; 8]| {
            crate::matching::engine_submit(
                number(env, a[0], "handle")?,
                number(env, a[1], "symbol")?,
                number(env, a[2], "side")?,
                number(env, a[3], "orderType")?,
                number(env, a[4], "price")?,
                number(env, a[5], "quantity")?,
                number(env, a[6], "timeInForce")?,
                boolean(env, a[7], "postOnly")?,
            )
        })
    }
}

unsafe extern "C" fn engine_submit_units(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineSubmitUnits", |a: [_; 8]| {
            crate::matching::engine_submit_units(
                number(env, a[0], "handle")?,
                number(env, a[1], "symbol")?,
                number(env, a[2], "side")?,
                number(env, a[3], "orderType")?,
                number(env, a[4], "priceTicks")?,
                number(env, a[5], "lots")?,
                number(env, a[6], "timeInForce")?,
                boolean(env, a[7], "postOnly")?,
            )
        })
    }
}

unsafe extern "C" fn engine_replace_units(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineReplaceUnits", |a: [_; 4]| {
            crate::matching::engine_replace_units(
                number(env, a[0], "handle")?,
                number(env, a[1], "orderId")?,
                number(env, a[2], "priceTicks")?,
                number(env, a[3], "lots")?,
            )
        })
    }
}

unsafe extern "C" fn engine_cancel(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineCancel", |a: [_; 2]| {
            crate::matching::engine_cancel(
                number(env, a[0], "handle")?,
                number(env, a[1], "orderId")?,
            )
        })
    }
}

unsafe extern "C" fn engine_replace(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineReplace", |a: [_; 4]| {
            crate::matching::engine_replace(
                number(env, a[0], "handle")?,
                number(env, a[1], "orderId")?,
                number(env, a[2], "price")?,
                number(env, a[3], "quantity")?,
            )
        })
    }
}

unsafe extern "C" fn engine_seed_ladder(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineSeedLadder", |a: [_; 7]| {
            crate::matching::engine_seed_ladder(
                number(env, a[0], "handle")?,
                uint32(env, a[1], "symbol")?,
                number(env, a[2], "bestBidTicks")?,
                number(env, a[3], "bestAskTicks")?,
                number(env, a[4], "stepTicks")?,
                number(env, a[5], "sizeLots")?,
                uint32(env, a[6], "levels")?,
            )
        })
    }
}

unsafe extern "C" fn engine_remove_ladder(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "engineRemoveLadder", |a: [_; 1]| {
            crate::matching::engine_remove_ladder(number(env, a[0], "handle")?)
        })
    }
}

/// `emptyCall()`: reads nothing, does nothing, answers undefined (a null value): the floor of a
/// raw native call, which `npm run bench` measures next to the guard.
unsafe extern "C" fn empty_call(
    _env: sys::napi_env,
    _info: sys::napi_callback_info,
) -> sys::napi_value {
    ptr::null_mut()
}

/// `guardDecide(handle, tool, args, refreshed)`
unsafe extern "C" fn guard_decide(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "guardDecide", |a: [_; 4]| {
            let handle = number(env, a[0], "handle")?;
            let tool = uint32(env, a[1], "tool")?;
            with_buffer(&TEXT_BUFFER, |buffer| {
                let args = string(env, a[2], "args", buffer)?;
                crate::guard::decide(handle, tool, args, boolean(env, a[3], "refreshed")?)
            })
        })
    }
}

/// `guardRecordAck(handle, ticket, orderId, status, symbol?, side, quantity, timestampMs, elapsedSeconds)`
unsafe extern "C" fn guard_record_ack(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe {
        call(env, info, "guardRecordAck", |a: [_; 9]| {
            let handle = number(env, a[0], "handle")?;
            let ticket = number(env, a[1], "ticket")?;
            with_buffer(&TEXT_BUFFER, |order_id| {
                let order_id = string(env, a[2], "orderId", order_id)?;
                let status = uint32(env, a[3], "status")?;
                with_buffer(&SYMBOL_BUFFER, |symbol| {
                    let symbol = if is_nullish(env, a[4], "symbol")? {
                        None
                    } else {
                        Some(string(env, a[4], "symbol", symbol)?)
                    };
                    crate::guard::record_ack(
                        handle,
                        ticket,
                        order_id,
                        status,
                        symbol,
                        uint32(env, a[5], "side")?,
                        number(env, a[6], "quantity")?,
                        number(env, a[7], "timestampMs")?,
                        number(env, a[8], "elapsedSeconds")?,
                    )
                })
            })
        })
    }
}
