//! The conformance plugin in Rust, against plugin.h through `extern "C"` only (no crates).
//! Behaves exactly like tests/abi/plugins/conformance.c.

use std::os::raw::{c_char, c_int, c_void};

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WgStr {
    data: *const c_char,
    size: usize,
}

impl WgStr {
    fn of(text: &[u8]) -> WgStr {
        WgStr { data: text.as_ptr() as *const c_char, size: text.len() }
    }
    unsafe fn bytes<'a>(self) -> &'a [u8] {
        if self.size == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.data as *const u8, self.size)
        }
    }
}

type Status = i32;
const WG_OK: Status = 0;
const WG_ERROR: Status = 1;
const WG_KIND_SECURITY: u32 = 1;
const WG_PLUGIN_THREAD_SAFE: u32 = 1;
const WG_VISIT_KEYS: u32 = 1;

#[repr(C)]
pub struct Host {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct Message {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct Config {
    _opaque: [u8; 0],
}

type Visitor = extern "C" fn(*mut c_void, WgStr, WgStr, c_int) -> c_int;

#[repr(C)]
pub struct HostApi {
    struct_size: u32,
    abi_major: u32,
    abi_minor: u32,
    host_version: WgStr,
    log: extern "C" fn(*mut Host, i32, WgStr),
    log_enabled: extern "C" fn(*mut Host, i32) -> c_int,
    message_kind: extern "C" fn(*mut Message) -> i32,
    message_method: extern "C" fn(*mut Message) -> WgStr,
    message_id: extern "C" fn(*mut Message) -> WgStr,
    message_upstream: extern "C" fn(*mut Message) -> WgStr,
    message_target: extern "C" fn(*mut Message) -> WgStr,
    get: extern "C" fn(*mut Message, WgStr, *mut WgStr) -> Status,
    set: extern "C" fn(*mut Message, WgStr, WgStr) -> Status,
    remove: extern "C" fn(*mut Message, WgStr) -> Status,
    visit_strings: extern "C" fn(*mut Message, WgStr, u32, Visitor, *mut c_void) -> Status,
    replace_string: extern "C" fn(*mut Message, WgStr, WgStr) -> Status,
    serialize: extern "C" fn(*mut Message, *mut WgStr) -> Status,
    block: extern "C" fn(*mut Message, WgStr, i32, WgStr) -> Status,
    complete: extern "C" fn(*mut Message, WgStr) -> Status,
    add_metadata: extern "C" fn(*mut Message, WgStr) -> Status,
    set_error: extern "C" fn(*mut Message, WgStr),
    get_extension: extern "C" fn(*mut Host, *const c_char) -> *const c_void,
    config_get: extern "C" fn(*mut Config, WgStr, *mut WgStr) -> Status,
    config_visit_strings: extern "C" fn(*mut Config, WgStr, u32, Visitor, *mut c_void) -> Status,
    config_error: extern "C" fn(*mut Config, WgStr, WgStr),
}

type MessageHook = extern "C" fn(*mut c_void, *mut c_void, *mut Message) -> Status;

#[repr(C)]
pub struct Descriptor {
    abi_major: u32,
    abi_minor: u32,
    struct_size: u32,
    kinds: u32,
    flags: u32,
    name: *const c_char,
    version: *const c_char,
    description: *const c_char,
    config_schema: *const c_char,
    module_load: Option<extern "C" fn(*mut *mut c_void) -> Status>,
    module_unload: Option<extern "C" fn(*mut c_void)>,
    instance_create:
        Option<extern "C" fn(*const HostApi, *mut Host, *mut c_void, WgStr, *mut Config, *mut *mut c_void) -> Status>,
    instance_destroy: Option<extern "C" fn(*mut c_void)>,
    request_begin: Option<extern "C" fn(*mut c_void, *mut Message, *mut *mut c_void) -> Status>,
    request_end: Option<extern "C" fn(*mut c_void, *mut c_void)>,
    on_request: Option<MessageHook>,
    on_response: Option<MessageHook>,
    on_notification: Option<MessageHook>,
    on_audit: Option<extern "C" fn(*mut c_void, *mut c_void, *const c_void) -> Status>,
}

// The descriptor holds only pointers to static data and functions.
unsafe impl Sync for Descriptor {}

const NAME: &[u8] = b"conformance_rust";

struct Instance {
    api: *const HostApi,
    word: Vec<u8>,
}

struct KeyCheck {
    api: *const HostApi,
    config: *mut Config,
    unknown: bool,
}

extern "C" fn check_key(user: *mut c_void, pointer: WgStr, key: WgStr, is_key: c_int) -> c_int {
    unsafe {
        let check = &mut *(user as *mut KeyCheck);
        let pointer_bytes = pointer.bytes();
        let top_level = !pointer_bytes[1..].contains(&b'/');
        if is_key != 0 && top_level && key.bytes() != b"word" {
            ((*check.api).config_error)(check.config, pointer, WgStr::of(b"unknown key"));
            check.unknown = true;
        }
    }
    0
}

extern "C" fn create(
    api: *const HostApi,
    _host: *mut Host,
    _module: *mut c_void,
    _json: WgStr,
    config: *mut Config,
    out: *mut *mut c_void,
) -> Status {
    unsafe {
        let host = &*api;
        let mut check = KeyCheck { api, config, unknown: false };
        (host.config_visit_strings)(config, WgStr::of(b""), WG_VISIT_KEYS, check_key, &mut check as *mut _ as *mut c_void);
        let mut word = WgStr::of(b"");
        if (host.config_get)(config, WgStr::of(b"/word"), &mut word) != WG_OK {
            (host.config_error)(config, WgStr::of(b""), WgStr::of(b"missing required key 'word'"));
            return WG_ERROR;
        }
        let text = word.bytes();
        if text.len() < 3 || text[0] != b'"' {
            (host.config_error)(config, WgStr::of(b"/word"), WgStr::of(b"expected a non-empty string"));
            return WG_ERROR;
        }
        if check.unknown {
            return WG_ERROR;
        }
        let instance = Box::new(Instance { api, word: text[1..text.len() - 1].to_vec() });
        *out = Box::into_raw(instance) as *mut c_void;
    }
    WG_OK
}

extern "C" fn destroy(instance: *mut c_void) {
    unsafe { drop(Box::from_raw(instance as *mut Instance)) }
}

extern "C" fn begin(instance: *mut c_void, request: *mut Message, out: *mut *mut c_void) -> Status {
    unsafe {
        let this = &*(instance as *const Instance);
        let id = ((*this.api).message_id)(request).bytes().to_vec();
        *out = Box::into_raw(Box::new(id)) as *mut c_void;
    }
    WG_OK
}

extern "C" fn end(_instance: *mut c_void, state: *mut c_void) {
    unsafe { drop(Box::from_raw(state as *mut Vec<u8>)) }
}

struct Scan<'a> {
    word: &'a [u8],
    strings: u64,
    found: bool,
}

extern "C" fn scan_string(user: *mut c_void, _pointer: WgStr, value: WgStr, _is_key: c_int) -> c_int {
    unsafe {
        let scan = &mut *(user as *mut Scan);
        scan.strings += 1;
        let bytes = value.bytes();
        scan.found = bytes.len() >= scan.word.len() && bytes.windows(scan.word.len()).any(|w| w == scan.word);
        if scan.found {
            1
        } else {
            0
        }
    }
}

extern "C" fn on_request(instance: *mut c_void, _state: *mut c_void, message: *mut Message) -> Status {
    unsafe {
        let this = &*(instance as *const Instance);
        let host = &*this.api;
        let mut scan = Scan { word: &this.word, strings: 0, found: false };
        (host.visit_strings)(message, WgStr::of(b"/params"), 0, scan_string, &mut scan as *mut _ as *mut c_void);
        if scan.found {
            return (host.block)(message, WgStr::of(b"word found"), -32042, WgStr::of(b"{\"rule\":\"word\"}"));
        }
        let metadata = format!("{{\"strings\":{}}}", scan.strings);
        (host.add_metadata)(message, WgStr::of(metadata.as_bytes()))
    }
}

extern "C" fn on_response(instance: *mut c_void, state: *mut c_void, message: *mut Message) -> Status {
    unsafe {
        let this = &*(instance as *const Instance);
        let host = &*this.api;
        let id = (host.message_id)(message).bytes();
        if state.is_null() || (*(state as *const Vec<u8>)).as_slice() != id {
            (host.set_error)(message, WgStr::of(b"request state mismatch"));
            return WG_ERROR;
        }
        let mut echo = WgStr::of(b"");
        if (host.get)(message, WgStr::of(b"/result/echo"), &mut echo) == WG_OK {
            return (host.replace_string)(message, WgStr::of(b"/result/echo"), WgStr::of(NAME));
        }
    }
    WG_OK
}

static DESCRIPTOR: Descriptor = Descriptor {
    abi_major: 1,
    abi_minor: 0,
    struct_size: std::mem::size_of::<Descriptor>() as u32,
    kinds: WG_KIND_SECURITY,
    flags: WG_PLUGIN_THREAD_SAFE,
    name: b"conformance_rust\0".as_ptr() as *const c_char,
    version: b"1.0.0\0".as_ptr() as *const c_char,
    description: b"Conformance plugin (Rust)\0".as_ptr() as *const c_char,
    config_schema: b"{\"type\":\"object\",\"required\":[\"word\"]}\0".as_ptr() as *const c_char,
    module_load: None,
    module_unload: None,
    instance_create: Some(create),
    instance_destroy: Some(destroy),
    request_begin: Some(begin),
    request_end: Some(end),
    on_request: Some(on_request),
    on_response: Some(on_response),
    on_notification: None,
    on_audit: None,
};

#[no_mangle]
pub extern "C" fn watchgate_plugin_entry() -> *const Descriptor {
    &DESCRIPTOR
}
