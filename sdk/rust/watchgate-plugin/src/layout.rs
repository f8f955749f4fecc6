//! Every offset and size of the declarations in `abi`, as text: `tests/abi/rust_layout_test.sh`
//! compares it with the same list printed by C from the header, so a drift is a failing test.
use crate::abi::*;

macro_rules! offset_in {
    ($ty:ty, $field:ident) => {{
        let value = std::mem::MaybeUninit::<$ty>::uninit();
        let base = value.as_ptr();
        // Only the address is taken; nothing is read.
        let field = unsafe { std::ptr::addr_of!((*base).$field) };
        field as usize - base as usize
    }};
}

/// One line per field ("type field offset") and per type ("type sizeof size").
pub fn layout_report() -> String {
    let mut out = String::new();
    macro_rules! report {
        ($ty:ident: $($field:ident),*) => {
            $( out += &format!("{} {} {}\n", stringify!($ty), stringify!($field), offset_in!($ty, $field)); )*
            out += &format!("{} sizeof {}\n", stringify!($ty), std::mem::size_of::<$ty>());
        };
    }
    report!(wg_str: data, size);
    report!(wg_audit_stage: struct_size, plugin, outcome, reason, duration_ns, metadata);
    report!(wg_audit_event: struct_size, kind, time_unix_us, request_id, upstream, method, target, outcome, reason,
            stages, stage_count, duration_ns, error_code, content_cleared, body, session_id, transport,
            client_address, subject);
    report!(wg_host_api: struct_size, abi_major, abi_minor, host_version, log, log_enabled, message_kind,
            message_method, message_id, message_upstream, message_target, get, set, remove, visit_strings,
            replace_string, serialize, block, complete, add_metadata, set_error, get_extension, config_get,
            config_visit_strings, config_error, config_folder, config_string, config_boolean, config_integer,
            config_number, config_choice, config_list_size, config_member_name, config_require,
            config_check_keys, config_error_count, create_flags, audit_error);
    report!(wg_plugin_descriptor: abi_major, abi_minor, struct_size, kinds, flags, name, version, description,
            config_schema, module_load, module_unload, instance_create, instance_destroy, request_begin,
            request_end, on_request, on_response, on_notification, on_audit, reopen);
    report!(wg_context: struct_size, session_id, transport, era, client_address, subject, upstream);
    report!(wg_ext_context_1: struct_size, message_context);
    out
}
