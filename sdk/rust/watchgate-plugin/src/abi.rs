//! The C ABI of `<watchgate/plugin.h>` (ABI 1.2), declaration for declaration. Names and layouts
//! are the header's; `tests/abi/rust_layout_test.sh` checks every offset and size against it.
//! Use the safe layer in the crate root unless you need the raw table.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

pub const WG_ABI_VERSION_MAJOR: u32 = 1;
pub const WG_ABI_VERSION_MINOR: u32 = 2;

/// A UTF-8 view: `data` need not be NUL-terminated; empty may have `data == NULL`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wg_str {
    pub data: *const c_char,
    pub size: usize,
}

pub type wg_status = i32;
pub const WG_OK: wg_status = 0;
pub const WG_ERROR: wg_status = 1;
pub const WG_ERR_NOT_FOUND: wg_status = 2;
pub const WG_ERR_INVALID_ARGUMENT: wg_status = 3;
pub const WG_ERR_INVALID_JSON: wg_status = 4;
pub const WG_ERR_NOT_PERMITTED: wg_status = 5;
pub const WG_ERR_STOPPED: wg_status = 6;

pub const WG_DEFAULT_BLOCK_CODE: i32 = -32000;

pub const WG_KIND_SECURITY: u32 = 0x1;
pub const WG_KIND_MIDDLEWARE: u32 = 0x2;
pub const WG_KIND_AUDITING: u32 = 0x4;
pub const WG_PLUGIN_THREAD_SAFE: u32 = 0x1;
pub const WG_PLUGIN_UPSTREAM_ONLY: u32 = 0x2;

pub type wg_log_level = i32;
pub const WG_LOG_TRACE: wg_log_level = 0;
pub const WG_LOG_DEBUG: wg_log_level = 1;
pub const WG_LOG_INFO: wg_log_level = 2;
pub const WG_LOG_WARN: wg_log_level = 3;
pub const WG_LOG_ERROR: wg_log_level = 4;

pub type wg_message_kind = i32;
pub const WG_MESSAGE_REQUEST: wg_message_kind = 1;
pub const WG_MESSAGE_RESPONSE: wg_message_kind = 2;
pub const WG_MESSAGE_NOTIFICATION: wg_message_kind = 3;

pub const WG_VISIT_KEYS: u32 = 0x1;
pub const WG_CREATE_VALIDATE_ONLY: u32 = 0x1;

pub type wg_outcome = i32;
pub const WG_OUTCOME_ALLOWED: wg_outcome = 0;
pub const WG_OUTCOME_MODIFIED: wg_outcome = 1;
pub const WG_OUTCOME_BLOCKED: wg_outcome = 2;
pub const WG_OUTCOME_COMPLETED: wg_outcome = 3;
pub const WG_OUTCOME_ERROR: wg_outcome = 4;
pub const WG_OUTCOME_SKIPPED: wg_outcome = 5;

/// Opaque host handles: only ever behind a pointer.
#[repr(C)]
pub struct wg_host {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct wg_message {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct wg_config {
    _opaque: [u8; 0],
}

pub type wg_string_visitor = extern "C" fn(user: *mut c_void, pointer: wg_str, value: wg_str, is_key: c_int) -> c_int;

#[repr(C)]
pub struct wg_audit_stage {
    pub struct_size: u32,
    pub plugin: wg_str,
    pub outcome: wg_outcome,
    pub reason: wg_str,
    pub duration_ns: u64,
    pub metadata: wg_str,
}

#[repr(C)]
pub struct wg_audit_event {
    pub struct_size: u32,
    pub kind: wg_message_kind,
    pub time_unix_us: i64,
    pub request_id: wg_str,
    pub upstream: wg_str,
    pub method: wg_str,
    pub target: wg_str,
    pub outcome: wg_outcome,
    pub reason: wg_str,
    pub stages: *const wg_audit_stage,
    pub stage_count: usize,
    pub duration_ns: u64,
    pub error_code: i32,
    pub content_cleared: c_int,
    pub body: wg_str,
    // Since 1.2.
    pub session_id: wg_str,
    pub transport: wg_str,
    pub client_address: wg_str,
    pub subject: wg_str,
}

#[repr(C)]
pub struct wg_host_api {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub host_version: wg_str,
    pub log: extern "C" fn(*mut wg_host, wg_log_level, wg_str),
    pub log_enabled: extern "C" fn(*mut wg_host, wg_log_level) -> c_int,
    pub message_kind: extern "C" fn(*mut wg_message) -> wg_message_kind,
    pub message_method: extern "C" fn(*mut wg_message) -> wg_str,
    pub message_id: extern "C" fn(*mut wg_message) -> wg_str,
    pub message_upstream: extern "C" fn(*mut wg_message) -> wg_str,
    pub message_target: extern "C" fn(*mut wg_message) -> wg_str,
    pub get: extern "C" fn(*mut wg_message, wg_str, *mut wg_str) -> wg_status,
    pub set: extern "C" fn(*mut wg_message, wg_str, wg_str) -> wg_status,
    pub remove: extern "C" fn(*mut wg_message, wg_str) -> wg_status,
    pub visit_strings: extern "C" fn(*mut wg_message, wg_str, u32, wg_string_visitor, *mut c_void) -> wg_status,
    pub replace_string: extern "C" fn(*mut wg_message, wg_str, wg_str) -> wg_status,
    pub serialize: extern "C" fn(*mut wg_message, *mut wg_str) -> wg_status,
    pub block: extern "C" fn(*mut wg_message, wg_str, i32, wg_str) -> wg_status,
    pub complete: extern "C" fn(*mut wg_message, wg_str) -> wg_status,
    pub add_metadata: extern "C" fn(*mut wg_message, wg_str) -> wg_status,
    pub set_error: extern "C" fn(*mut wg_message, wg_str),
    pub get_extension: extern "C" fn(*mut wg_host, *const c_char) -> *const c_void,
    pub config_get: extern "C" fn(*mut wg_config, wg_str, *mut wg_str) -> wg_status,
    pub config_visit_strings: extern "C" fn(*mut wg_config, wg_str, u32, wg_string_visitor, *mut c_void) -> wg_status,
    pub config_error: extern "C" fn(*mut wg_config, wg_str, wg_str),
    // Since 1.1.
    pub config_folder: extern "C" fn(*mut wg_host) -> wg_str,
    // Since 1.2.
    pub config_string: extern "C" fn(*mut wg_config, wg_str, wg_str, *mut wg_str) -> wg_status,
    pub config_boolean: extern "C" fn(*mut wg_config, wg_str, c_int, *mut c_int) -> wg_status,
    pub config_integer: extern "C" fn(*mut wg_config, wg_str, i64, i64, i64, *mut i64) -> wg_status,
    pub config_number: extern "C" fn(*mut wg_config, wg_str, f64, *mut f64) -> wg_status,
    pub config_choice: extern "C" fn(*mut wg_config, wg_str, *const wg_str, usize, usize, *mut usize) -> wg_status,
    pub config_list_size: extern "C" fn(*mut wg_config, wg_str, *mut usize) -> wg_status,
    pub config_member_name: extern "C" fn(*mut wg_config, wg_str, usize, *mut wg_str) -> wg_status,
    pub config_require: extern "C" fn(*mut wg_config, wg_str, wg_str) -> wg_status,
    pub config_check_keys: extern "C" fn(*mut wg_config, wg_str, *const wg_str, usize) -> wg_status,
    pub config_error_count: extern "C" fn(*mut wg_config) -> usize,
    pub create_flags: extern "C" fn(*mut wg_host) -> u32,
    pub audit_error: extern "C" fn(*const wg_audit_event, wg_str),
}

pub type wg_message_hook = extern "C" fn(instance: *mut c_void, request_state: *mut c_void, message: *mut wg_message) -> wg_status;

#[repr(C)]
pub struct wg_plugin_descriptor {
    pub abi_major: u32,
    pub abi_minor: u32,
    pub struct_size: u32,
    pub kinds: u32,
    pub flags: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub config_schema: *const c_char,
    pub module_load: Option<extern "C" fn(*mut *mut c_void) -> wg_status>,
    pub module_unload: Option<extern "C" fn(*mut c_void)>,
    pub instance_create: Option<
        extern "C" fn(*const wg_host_api, *mut wg_host, *mut c_void, wg_str, *mut wg_config, *mut *mut c_void) -> wg_status,
    >,
    pub instance_destroy: Option<extern "C" fn(*mut c_void)>,
    pub request_begin: Option<extern "C" fn(*mut c_void, *mut wg_message, *mut *mut c_void) -> wg_status>,
    pub request_end: Option<extern "C" fn(*mut c_void, *mut c_void)>,
    pub on_request: Option<wg_message_hook>,
    pub on_response: Option<wg_message_hook>,
    pub on_notification: Option<wg_message_hook>,
    pub on_audit: Option<extern "C" fn(*mut c_void, *mut c_void, *const wg_audit_event) -> wg_status>,
    // Since 1.1.
    pub reopen: Option<extern "C" fn(*mut c_void)>,
}

// ---- "watchgate.context/1" ----
pub const WG_EXT_CONTEXT_1: &[u8] = b"watchgate.context/1\0";

#[repr(C)]
pub struct wg_context {
    pub struct_size: u32,
    pub session_id: wg_str,
    pub transport: wg_str,
    pub era: wg_str,
    pub client_address: wg_str,
    pub subject: wg_str,
    pub upstream: wg_str,
}

#[repr(C)]
pub struct wg_ext_context_1 {
    pub struct_size: u32,
    pub message_context: extern "C" fn(*mut wg_message, *mut wg_context) -> wg_status,
}
