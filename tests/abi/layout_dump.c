/* Prints every offset and size of the ABI's structs, from the header, in the format of the Rust
 * crate's layout_report() (sdk/rust/watchgate-plugin/src/layout.rs); rust_layout_test.sh compares
 * the two. */
#include <watchgate/plugin.h>

#include <stddef.h>
#include <stdio.h>

#define FIELD(type, field) printf("%s %s %zu\n", #type, #field, offsetof(type, field))
#define SIZE(type) printf("%s sizeof %zu\n", #type, sizeof(type))

int main(void) {
    FIELD(wg_str, data);
    FIELD(wg_str, size);
    SIZE(wg_str);
    FIELD(wg_audit_stage, struct_size);
    FIELD(wg_audit_stage, plugin);
    FIELD(wg_audit_stage, outcome);
    FIELD(wg_audit_stage, reason);
    FIELD(wg_audit_stage, duration_ns);
    FIELD(wg_audit_stage, metadata);
    SIZE(wg_audit_stage);
    FIELD(wg_audit_event, struct_size);
    FIELD(wg_audit_event, kind);
    FIELD(wg_audit_event, time_unix_us);
    FIELD(wg_audit_event, request_id);
    FIELD(wg_audit_event, upstream);
    FIELD(wg_audit_event, method);
    FIELD(wg_audit_event, target);
    FIELD(wg_audit_event, outcome);
    FIELD(wg_audit_event, reason);
    FIELD(wg_audit_event, stages);
    FIELD(wg_audit_event, stage_count);
    FIELD(wg_audit_event, duration_ns);
    FIELD(wg_audit_event, error_code);
    FIELD(wg_audit_event, content_cleared);
    FIELD(wg_audit_event, body);
    FIELD(wg_audit_event, session_id);
    FIELD(wg_audit_event, transport);
    FIELD(wg_audit_event, client_address);
    FIELD(wg_audit_event, subject);
    SIZE(wg_audit_event);
    FIELD(wg_host_api, struct_size);
    FIELD(wg_host_api, abi_major);
    FIELD(wg_host_api, abi_minor);
    FIELD(wg_host_api, host_version);
    FIELD(wg_host_api, log);
    FIELD(wg_host_api, log_enabled);
    FIELD(wg_host_api, message_kind);
    FIELD(wg_host_api, message_method);
    FIELD(wg_host_api, message_id);
    FIELD(wg_host_api, message_upstream);
    FIELD(wg_host_api, message_target);
    FIELD(wg_host_api, get);
    FIELD(wg_host_api, set);
    FIELD(wg_host_api, remove);
    FIELD(wg_host_api, visit_strings);
    FIELD(wg_host_api, replace_string);
    FIELD(wg_host_api, serialize);
    FIELD(wg_host_api, block);
    FIELD(wg_host_api, complete);
    FIELD(wg_host_api, add_metadata);
    FIELD(wg_host_api, set_error);
    FIELD(wg_host_api, get_extension);
    FIELD(wg_host_api, config_get);
    FIELD(wg_host_api, config_visit_strings);
    FIELD(wg_host_api, config_error);
    FIELD(wg_host_api, config_folder);
    FIELD(wg_host_api, config_string);
    FIELD(wg_host_api, config_boolean);
    FIELD(wg_host_api, config_integer);
    FIELD(wg_host_api, config_number);
    FIELD(wg_host_api, config_choice);
    FIELD(wg_host_api, config_list_size);
    FIELD(wg_host_api, config_member_name);
    FIELD(wg_host_api, config_require);
    FIELD(wg_host_api, config_check_keys);
    FIELD(wg_host_api, config_error_count);
    FIELD(wg_host_api, create_flags);
    FIELD(wg_host_api, audit_error);
    SIZE(wg_host_api);
    FIELD(wg_plugin_descriptor, abi_major);
    FIELD(wg_plugin_descriptor, abi_minor);
    FIELD(wg_plugin_descriptor, struct_size);
    FIELD(wg_plugin_descriptor, kinds);
    FIELD(wg_plugin_descriptor, flags);
    FIELD(wg_plugin_descriptor, name);
    FIELD(wg_plugin_descriptor, version);
    FIELD(wg_plugin_descriptor, description);
    FIELD(wg_plugin_descriptor, config_schema);
    FIELD(wg_plugin_descriptor, module_load);
    FIELD(wg_plugin_descriptor, module_unload);
    FIELD(wg_plugin_descriptor, instance_create);
    FIELD(wg_plugin_descriptor, instance_destroy);
    FIELD(wg_plugin_descriptor, request_begin);
    FIELD(wg_plugin_descriptor, request_end);
    FIELD(wg_plugin_descriptor, on_request);
    FIELD(wg_plugin_descriptor, on_response);
    FIELD(wg_plugin_descriptor, on_notification);
    FIELD(wg_plugin_descriptor, on_audit);
    FIELD(wg_plugin_descriptor, reopen);
    SIZE(wg_plugin_descriptor);
    FIELD(wg_context, struct_size);
    FIELD(wg_context, session_id);
    FIELD(wg_context, transport);
    FIELD(wg_context, era);
    FIELD(wg_context, client_address);
    FIELD(wg_context, subject);
    FIELD(wg_context, upstream);
    SIZE(wg_context);
    FIELD(wg_ext_context_1, struct_size);
    FIELD(wg_ext_context_1, message_context);
    SIZE(wg_ext_context_1);
    return 0;
}
