//! Watchgate plugins in Rust.
//!
//! Implement [`Plugin`] for a type and export it with [`export_plugin!`]; build the crate as a
//! `cdylib`. The host finds `lib<name>.so` as the handler `<name>` (docs/plugin-abi.md).
//!
//! ```ignore
//! use watchgate_plugin::{export_plugin, Config, Host, Message, Plugin};
//!
//! struct NoTool { tool: String }
//!
//! impl Plugin for NoTool {
//!     fn create(config: &mut Config, _host: &Host) -> Option<Self> {
//!         config.check_keys("", &["tool"]);
//!         Some(NoTool { tool: config.string("/tool", "rm") })
//!     }
//!     fn on_request(&self, message: &mut Message) -> Result<(), String> {
//!         if message.target() == self.tool { message.block("this tool is not allowed", 0)?; }
//!         Ok(())
//!     }
//! }
//!
//! export_plugin!(NoTool, name: "no_tool", version: "1.0.0", description: "Blocks one tool",
//!                kinds: watchgate_plugin::KIND_SECURITY, flags: watchgate_plugin::THREAD_SAFE);
//! ```
//!
//! Every call from the host goes through a panic barrier: a panic in a hook becomes a `WG_ERROR`
//! with the panic's text, never an unwind into C (keep the default `panic = "unwind"`; with
//! `panic = "abort"` a panic ends the gateway). Returning `Err(text)` from a hook is the same
//! failure, explained by `text`.

pub mod abi;
mod layout;

use abi::*;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[doc(hidden)]
pub use layout::layout_report;

pub const KIND_SECURITY: u32 = WG_KIND_SECURITY;
pub const KIND_MIDDLEWARE: u32 = WG_KIND_MIDDLEWARE;
pub const KIND_AUDITING: u32 = WG_KIND_AUDITING;
pub const THREAD_SAFE: u32 = WG_PLUGIN_THREAD_SAFE;
pub const UPSTREAM_ONLY: u32 = WG_PLUGIN_UPSTREAM_ONLY;

fn view(text: &str) -> wg_str {
    wg_str { data: text.as_ptr() as *const c_char, size: text.len() }
}

/// The bytes of a host view as text; the host hands out UTF-8 only.
///
/// # Safety
/// `value` must be a live view for `'a`.
unsafe fn text<'a>(value: wg_str) -> &'a str {
    if value.size == 0 || value.data.is_null() {
        return "";
    }
    let bytes = std::slice::from_raw_parts(value.data as *const u8, value.size);
    std::str::from_utf8(bytes).unwrap_or("")
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        format!("panic: {}", text)
    } else if let Some(text) = payload.downcast_ref::<String>() {
        format!("panic: {}", text)
    } else {
        "panic".to_string()
    }
}

/// A plugin. One value per YAML entry; hooks may run on several threads at once when the plugin
/// declares `THREAD_SAFE` (otherwise the host serializes them), hence `Sync`.
pub trait Plugin: Sized + Send + Sync + 'static {
    /// Reads the entry's `config:`. Report problems through `config` (they name the YAML line);
    /// return `None` to refuse. An instance is refused anyway when any error was reported.
    fn create(config: &mut Config, host: &Host) -> Option<Self>;
    fn on_request(&self, _message: &mut Message) -> Result<(), String> {
        Ok(())
    }
    fn on_response(&self, _message: &mut Message) -> Result<(), String> {
        Ok(())
    }
    fn on_notification(&self, _message: &mut Message) -> Result<(), String> {
        Ok(())
    }
    /// Auditing plugins: `Err(reason)` when the event could not be recorded; a critical
    /// auditor's client then reads the reason.
    fn on_audit(&self, _event: &AuditEvent) -> Result<(), String> {
        Ok(())
    }
}

/// The host, for the instance's whole life.
pub struct Host {
    api: *const wg_host_api,
    host: *mut wg_host,
}

unsafe impl Send for Host {}
unsafe impl Sync for Host {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Trace = WG_LOG_TRACE as isize,
    Debug = WG_LOG_DEBUG as isize,
    Info = WG_LOG_INFO as isize,
    Warn = WG_LOG_WARN as isize,
    Error = WG_LOG_ERROR as isize,
}

impl Host {
    fn api(&self) -> &wg_host_api {
        unsafe { &*self.api }
    }
    pub fn log(&self, level: LogLevel, line: &str) {
        (self.api().log)(self.host, level as wg_log_level, view(line));
    }
    /// The configuration file's folder: relative paths in the config are relative to it.
    pub fn config_folder(&self) -> String {
        unsafe { text((self.api().config_folder)(self.host)) }.to_string()
    }
    /// Whether this instance is made only to check its config (`watchgate validate`): then open
    /// no file, connect nowhere, start no thread.
    pub fn validate_only(&self) -> bool {
        (self.api().create_flags)(self.host) & WG_CREATE_VALIDATE_ONLY != 0
    }
}

/// The plugin's `config:` during creation. Readers take a JSON pointer ("/tool") and a fallback;
/// a wrong value is reported by the host, naming the YAML line, and the fallback is returned.
pub struct Config {
    api: *const wg_host_api,
    config: *mut wg_config,
}

impl Config {
    fn api(&self) -> &wg_host_api {
        unsafe { &*self.api }
    }
    pub fn string(&mut self, pointer: &str, fallback: &str) -> String {
        let mut out = view(fallback);
        (self.api().config_string)(self.config, view(pointer), view(fallback), &mut out);
        unsafe { text(out) }.to_string()
    }
    pub fn boolean(&mut self, pointer: &str, fallback: bool) -> bool {
        let mut out: c_int = fallback as c_int;
        (self.api().config_boolean)(self.config, view(pointer), fallback as c_int, &mut out);
        out != 0
    }
    pub fn integer(&mut self, pointer: &str, fallback: i64, min: i64, max: i64) -> i64 {
        let mut out = fallback;
        (self.api().config_integer)(self.config, view(pointer), fallback, min, max, &mut out);
        out
    }
    pub fn number(&mut self, pointer: &str, fallback: f64) -> f64 {
        let mut out = fallback;
        (self.api().config_number)(self.config, view(pointer), fallback, &mut out);
        out
    }
    /// The index of the word found among `words`.
    pub fn choice(&mut self, pointer: &str, words: &[&str], fallback: usize) -> usize {
        let views: Vec<wg_str> = words.iter().map(|word| view(word)).collect();
        let mut out = fallback;
        (self.api().config_choice)(self.config, view(pointer), views.as_ptr(), views.len(), fallback, &mut out);
        out
    }
    /// Every element of the list at `pointer` as a string (others are reported).
    pub fn strings(&mut self, pointer: &str) -> Vec<String> {
        let mut size = 0usize;
        (self.api().config_list_size)(self.config, view(pointer), &mut size);
        let mut out = Vec::new();
        for index in 0..size {
            let item = format!("{}/{}", pointer, index);
            let mut value = view("");
            if (self.api().config_string)(self.config, view(&item), view(""), &mut value) == WG_OK {
                out.push(unsafe { text(value) }.to_string());
            }
        }
        out
    }
    /// The member names of the mapping at `pointer`, in order of the names.
    pub fn member_names(&mut self, pointer: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let mut name = view("");
            if (self.api().config_member_name)(self.config, view(pointer), out.len(), &mut name) != WG_OK {
                return out;
            }
            out.push(unsafe { text(name) }.to_string());
        }
    }
    /// Reports "missing required key" unless the mapping at `pointer` has `name`.
    pub fn require(&mut self, pointer: &str, name: &str) -> bool {
        (self.api().config_require)(self.config, view(pointer), view(name)) == WG_OK
    }
    /// Reports every member of the mapping at `pointer` not among `known` ("did you mean" included).
    pub fn check_keys(&mut self, pointer: &str, known: &[&str]) -> bool {
        let views: Vec<wg_str> = known.iter().map(|word| view(word)).collect();
        (self.api().config_check_keys)(self.config, view(pointer), views.as_ptr(), views.len()) == WG_OK
    }
    /// Reports a problem of the plugin's own at `pointer`.
    pub fn error(&mut self, pointer: &str, message: &str) {
        (self.api().config_error)(self.config, view(pointer), view(message));
    }
    pub fn error_count(&self) -> usize {
        (self.api().config_error_count)(self.config)
    }
}

/// Who a message is from or for (the "watchgate.context/1" extension); empty when not known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub session_id: String,
    pub transport: String,
    pub era: String,
    pub client_address: String,
    pub subject: String,
    pub upstream: String,
}

/// A failed host call: the status and what was asked.
#[derive(Debug)]
pub struct HostError {
    pub status: wg_status,
    pub what: String,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, out: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(out, "{} failed (status {})", self.what, self.status)
    }
}

impl From<HostError> for String {
    fn from(error: HostError) -> String {
        error.to_string()
    }
}

fn check(status: wg_status, what: &str) -> Result<(), HostError> {
    if status == WG_OK {
        Ok(())
    } else {
        Err(HostError { status, what: what.to_string() })
    }
}

/// One message during one hook. Views it returns live until the hook returns.
pub struct Message<'a> {
    api: &'a wg_host_api,
    raw: *mut wg_message,
    context: *const wg_ext_context_1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
    Notification,
}

impl<'a> Message<'a> {
    pub fn kind(&self) -> Kind {
        match (self.api.message_kind)(self.raw) {
            WG_MESSAGE_REQUEST => Kind::Request,
            WG_MESSAGE_RESPONSE => Kind::Response,
            _ => Kind::Notification,
        }
    }
    pub fn method(&self) -> &'a str {
        unsafe { text((self.api.message_method)(self.raw)) }
    }
    /// The id as JSON text ("7", "\"a\""), empty for a notification.
    pub fn id(&self) -> &'a str {
        unsafe { text((self.api.message_id)(self.raw)) }
    }
    pub fn upstream(&self) -> &'a str {
        unsafe { text((self.api.message_upstream)(self.raw)) }
    }
    /// The tool, prompt or resource the request names.
    pub fn target(&self) -> &'a str {
        unsafe { text((self.api.message_target)(self.raw)) }
    }
    /// The value at a JSON pointer as JSON text, or None.
    pub fn get(&self, pointer: &str) -> Option<&'a str> {
        let mut out = view("");
        if (self.api.get)(self.raw, view(pointer), &mut out) != WG_OK {
            return None;
        }
        Some(unsafe { text(out) })
    }
    pub fn set_json(&mut self, pointer: &str, json: &str) -> Result<(), HostError> {
        check((self.api.set)(self.raw, view(pointer), view(json)), "set")
    }
    pub fn remove(&mut self, pointer: &str) -> Result<(), HostError> {
        check((self.api.remove)(self.raw, view(pointer)), "remove")
    }
    pub fn replace_string(&mut self, pointer: &str, value: &str) -> Result<(), HostError> {
        check((self.api.replace_string)(self.raw, view(pointer), view(value)), "replace_string")
    }
    /// Calls `visitor(pointer, value)` for every string at or below `pointer`; it returns false
    /// to stop. Change the message after the visit, not during it.
    pub fn visit_strings<F: FnMut(&str, &str) -> bool>(&self, pointer: &str, visitor: F) -> Result<(), HostError> {
        struct State<F> {
            visitor: F,
            panic: Option<Box<dyn std::any::Any + Send>>,
        }
        extern "C" fn trampoline<F: FnMut(&str, &str) -> bool>(
            user: *mut c_void,
            pointer: wg_str,
            value: wg_str,
            _is_key: c_int,
        ) -> c_int {
            let state = unsafe { &mut *(user as *mut State<F>) };
            match catch_unwind(AssertUnwindSafe(|| (state.visitor)(unsafe { text(pointer) }, unsafe { text(value) }))) {
                Ok(true) => 0,
                Ok(false) => 1,
                Err(payload) => {
                    state.panic = Some(payload);
                    1
                }
            }
        }
        let mut state = State { visitor, panic: None };
        let status = (self.api.visit_strings)(
            self.raw,
            view(pointer),
            0,
            trampoline::<F>,
            &mut state as *mut State<F> as *mut c_void,
        );
        if let Some(payload) = state.panic {
            std::panic::resume_unwind(payload); // caught again at the hook's barrier
        }
        if status == WG_ERR_STOPPED {
            return Ok(());
        }
        check(status, "visit_strings")
    }
    /// The whole message as JSON text, with the changes made so far.
    pub fn serialize(&self) -> Result<&'a str, HostError> {
        let mut out = view("");
        check((self.api.serialize)(self.raw, &mut out), "serialize")?;
        Ok(unsafe { text(out) })
    }
    /// Security plugins: refuse the message; `code` 0 is -32000.
    pub fn block(&mut self, reason: &str, code: i32) -> Result<(), HostError> {
        check((self.api.block)(self.raw, view(reason), code, view("")), "block")
    }
    /// Middleware plugins, requests: answer with a JSON-RPC response or a bare result (JSON text).
    pub fn complete(&mut self, response_json: &str) -> Result<(), HostError> {
        check((self.api.complete)(self.raw, view(response_json)), "complete")
    }
    pub fn add_metadata(&mut self, json: &str) -> Result<(), HostError> {
        check((self.api.add_metadata)(self.raw, view(json)), "add_metadata")
    }
    /// Who the message is from or for.
    pub fn context(&self) -> Context {
        if self.context.is_null() {
            return Context::default();
        }
        let mut raw: wg_context = unsafe { std::mem::zeroed() };
        raw.struct_size = std::mem::size_of::<wg_context>() as u32;
        if (unsafe { &*self.context }.message_context)(self.raw, &mut raw) != WG_OK {
            return Context::default();
        }
        let own = |value: wg_str| unsafe { text(value) }.to_string();
        Context {
            session_id: own(raw.session_id),
            transport: own(raw.transport),
            era: own(raw.era),
            client_address: own(raw.client_address),
            subject: own(raw.subject),
            upstream: own(raw.upstream),
        }
    }
}

/// An audit event, read-only, for the `on_audit` call.
pub struct AuditEvent<'a> {
    raw: &'a wg_audit_event,
}

impl<'a> AuditEvent<'a> {
    pub fn kind(&self) -> i32 {
        self.raw.kind
    }
    pub fn time_unix_us(&self) -> i64 {
        self.raw.time_unix_us
    }
    pub fn request_id(&self) -> &'a str {
        unsafe { text(self.raw.request_id) }
    }
    pub fn upstream(&self) -> &'a str {
        unsafe { text(self.raw.upstream) }
    }
    pub fn method(&self) -> &'a str {
        unsafe { text(self.raw.method) }
    }
    pub fn target(&self) -> &'a str {
        unsafe { text(self.raw.target) }
    }
    pub fn outcome(&self) -> i32 {
        self.raw.outcome
    }
    pub fn reason(&self) -> &'a str {
        unsafe { text(self.raw.reason) }
    }
    pub fn error_code(&self) -> i32 {
        self.raw.error_code
    }
    pub fn content_cleared(&self) -> bool {
        self.raw.content_cleared != 0
    }
    pub fn body(&self) -> &'a str {
        unsafe { text(self.raw.body) }
    }
    pub fn session_id(&self) -> &'a str {
        unsafe { text(self.raw.session_id) }
    }
    pub fn transport(&self) -> &'a str {
        unsafe { text(self.raw.transport) }
    }
    pub fn client_address(&self) -> &'a str {
        unsafe { text(self.raw.client_address) }
    }
    pub fn subject(&self) -> &'a str {
        unsafe { text(self.raw.subject) }
    }
}

/// The C functions behind a [`Plugin`]; used by [`export_plugin!`].
#[doc(hidden)]
pub mod adapter {
    use super::*;

    struct Instance<P> {
        api: *const wg_host_api,
        context: *const wg_ext_context_1,
        plugin: P,
    }

    pub extern "C" fn create<P: Plugin>(
        api: *const wg_host_api,
        host: *mut wg_host,
        _module: *mut c_void,
        _json: wg_str,
        config: *mut wg_config,
        out: *mut *mut c_void,
    ) -> wg_status {
        let table = unsafe { &*api };
        let made = catch_unwind(AssertUnwindSafe(|| {
            let mut reader = Config { api, config };
            let plugin = P::create(&mut reader, &Host { api, host });
            (plugin, reader.error_count())
        }));
        match made {
            Ok((Some(plugin), 0)) => {
                let context = (table.get_extension)(host, WG_EXT_CONTEXT_1.as_ptr() as *const c_char)
                    as *const wg_ext_context_1;
                unsafe { *out = Box::into_raw(Box::new(Instance { api, context, plugin })) as *mut c_void };
                WG_OK
            }
            Ok((_, errors)) => {
                if errors == 0 {
                    (table.config_error)(config, view(""), view("the plugin refused its configuration"));
                }
                WG_ERROR
            }
            Err(payload) => {
                (table.config_error)(config, view(""), view(&panic_text(&*payload)));
                WG_ERROR
            }
        }
    }

    pub extern "C" fn destroy<P: Plugin>(instance: *mut c_void) {
        let _ = catch_unwind(|| drop(unsafe { Box::from_raw(instance as *mut Instance<P>) }));
    }

    fn hook<P: Plugin>(
        instance: *mut c_void,
        raw: *mut wg_message,
        call: fn(&P, &mut Message) -> Result<(), String>,
    ) -> wg_status {
        let instance = unsafe { &*(instance as *const Instance<P>) };
        let api = unsafe { &*instance.api };
        let mut message = Message { api, raw, context: instance.context };
        let failure = match catch_unwind(AssertUnwindSafe(|| call(&instance.plugin, &mut message))) {
            Ok(Ok(())) => return WG_OK,
            Ok(Err(text)) => text,
            Err(payload) => panic_text(&*payload),
        };
        (api.set_error)(raw, view(&failure));
        WG_ERROR
    }

    pub extern "C" fn on_request<P: Plugin>(instance: *mut c_void, _state: *mut c_void, raw: *mut wg_message) -> wg_status {
        hook::<P>(instance, raw, P::on_request)
    }
    pub extern "C" fn on_response<P: Plugin>(instance: *mut c_void, _state: *mut c_void, raw: *mut wg_message) -> wg_status {
        hook::<P>(instance, raw, P::on_response)
    }
    pub extern "C" fn on_notification<P: Plugin>(
        instance: *mut c_void,
        _state: *mut c_void,
        raw: *mut wg_message,
    ) -> wg_status {
        hook::<P>(instance, raw, P::on_notification)
    }
    pub extern "C" fn on_audit<P: Plugin>(
        instance: *mut c_void,
        _state: *mut c_void,
        event: *const wg_audit_event,
    ) -> wg_status {
        let instance = unsafe { &*(instance as *const Instance<P>) };
        let api = unsafe { &*instance.api };
        let failure = match catch_unwind(AssertUnwindSafe(|| instance.plugin.on_audit(&AuditEvent { raw: unsafe { &*event } }))) {
            Ok(Ok(())) => return WG_OK,
            Ok(Err(text)) => text,
            Err(payload) => panic_text(&*payload),
        };
        (api.audit_error)(event, view(&failure));
        WG_ERROR
    }

    /// A descriptor in static storage (the raw pointers in it are to static text).
    pub struct Descriptor(pub wg_plugin_descriptor);
    unsafe impl Sync for Descriptor {}
}

/// Exports `$plugin` (a [`Plugin`]) as the library's plugin: defines `watchgate_plugin_entry`.
/// `name` is the handler name ([a-z][a-z0-9_]*); build the crate as a `cdylib` named after it.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty, name: $name:literal, version: $version:literal, description: $description:literal,
     kinds: $kinds:expr, flags: $flags:expr) => {
        #[no_mangle]
        pub extern "C" fn watchgate_plugin_entry() -> *const $crate::abi::wg_plugin_descriptor {
            use $crate::abi::*;
            use $crate::adapter;
            static DESCRIPTOR: adapter::Descriptor = adapter::Descriptor(wg_plugin_descriptor {
                abi_major: WG_ABI_VERSION_MAJOR,
                abi_minor: WG_ABI_VERSION_MINOR,
                struct_size: std::mem::size_of::<wg_plugin_descriptor>() as u32,
                kinds: $kinds,
                flags: $flags,
                name: concat!($name, "\0").as_ptr() as *const std::os::raw::c_char,
                version: concat!($version, "\0").as_ptr() as *const std::os::raw::c_char,
                description: concat!($description, "\0").as_ptr() as *const std::os::raw::c_char,
                config_schema: std::ptr::null(),
                module_load: None,
                module_unload: None,
                instance_create: Some(adapter::create::<$plugin>),
                instance_destroy: Some(adapter::destroy::<$plugin>),
                request_begin: None,
                request_end: None,
                on_request: Some(adapter::on_request::<$plugin>),
                on_response: Some(adapter::on_response::<$plugin>),
                on_notification: Some(adapter::on_notification::<$plugin>),
                on_audit: Some(adapter::on_audit::<$plugin>),
                reopen: None,
            });
            &DESCRIPTOR.0
        }
    };
}
