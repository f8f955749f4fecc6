#include <watchgate/core/pipeline/plugin_host.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace watchgate::core {

namespace {

namespace fs = std::filesystem;

#if defined(_WIN32)
constexpr std::string_view plugin_suffix = ".dll";
#elif defined(__APPLE__)
constexpr std::string_view plugin_suffix = ".dylib";
#else
constexpr std::string_view plugin_suffix = ".so";
#endif

// A file or folder others could replace is a way to run code as the gateway. Every folder up to
// the root counts (whoever may rename a folder may swap everything under it), except one with the
// sticky bit (like /tmp): there only an entry's owner may rename it.
std::optional<std::string> insecure_reason(const fs::path& file) {
    const fs::path absolute = fs::absolute(file).lexically_normal();
    bool is_file = true;
    for (fs::path path = absolute;; path = path.parent_path()) {
        struct stat info {};
        if (::stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IWGRP | S_IWOTH)) &&
            (is_file || !(info.st_mode & S_ISVTX)))
            return path.string() + " is writable by " + ((info.st_mode & S_IWOTH) ? "others" : "its group");
        is_file = false;
        if (path == path.parent_path()) break;
    }
    return std::nullopt;
}

std::string join_paths(const std::vector<fs::path>& paths) {
    std::string text;
    for (const auto& path : paths) text += (text.empty() ? "" : ", ") + path.string();
    return text;
}

// Identity of an entry within one (role, scope) list: upstream entries replace global ones by it.
std::string entry_key(const PluginEntryConfig& entry) {
    return (entry.handler.empty() ? entry.path->string() : entry.handler) +
           (entry.instance.empty() ? std::string() : "/" + entry.instance);
}

}  // namespace

std::string plugin_file_name(std::string_view handler) { return std::string(handler) + std::string(plugin_suffix); }

std::vector<std::string> plugin_file_names(std::string_view handler) {
    return {plugin_file_name(handler), "lib" + plugin_file_name(handler)};
}

fs::path builtin_plugin_dir() {
    boost::dll::fs::error_code error;
    fs::path program = boost::dll::program_location(error);
    if (error) return {};
    return (program.parent_path() / ".." / "lib" / "watchgate" / "plugins").lexically_normal();
}

std::pair<GatewayConfig, std::shared_ptr<PluginHost>> PluginHost::load_all(const fs::path& file, LoadPurpose purpose,
                                                                           const PluginHost* previous) {
    try {
        GatewayConfig config = load_config(file);
        auto host = load(config, purpose, previous);
        return {std::move(config), std::move(host)};
    } catch (const ConfigErrors& file_errors) {
        if (!file_errors.partial) throw;
        std::vector<ConfigError> all = file_errors.errors;
        try {
            load(*file_errors.partial, purpose);
        } catch (const ConfigErrors& plugin_errors) {
            for (const auto& error : plugin_errors.errors) {
                const bool known = std::any_of(
                    all.begin(), all.end(), [&](const ConfigError& seen) { return seen.format() == error.format(); });
                if (!known) all.push_back(error);
            }
        } catch (const std::exception&) {
            // Only the file's errors, then: a plugin failing on a half-read file says nothing new.
        }
        std::stable_sort(all.begin(), all.end(), [](const ConfigError& a, const ConfigError& b) {
            return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
        });
        throw ConfigErrors(std::move(all));
    }
}

std::vector<fs::path> plugin_search_path(const GatewayConfig& config) {
    std::vector<fs::path> folders = config.plugin_dirs;
    if (const char* env = std::getenv("WATCHGATE_PLUGIN_PATH")) {
        std::string_view rest(env);
        while (!rest.empty()) {
            auto colon = rest.find(':');
            auto part = rest.substr(0, colon);
            if (!part.empty()) folders.emplace_back(part);
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        }
    }
    if (auto builtin = builtin_plugin_dir(); !builtin.empty()) folders.push_back(builtin);
    return folders;
}

std::map<std::string, fs::path> discover_plugins(const std::vector<fs::path>& folders) {
    std::map<std::string, fs::path> found;
    for (const auto& folder : folders) {
        std::error_code error;
        for (const auto& item : fs::directory_iterator(folder, error)) {
            const auto name = item.path().filename().string();
            if (name.size() <= plugin_suffix.size() || !name.ends_with(plugin_suffix)) continue;
            std::string handler = name.substr(0, name.size() - plugin_suffix.size());
            // libNAME.so (what cargo and CMake name a library) stands for NAME, after NAME.so.
            const bool prefixed = handler.starts_with("lib") && handler.size() > 3;
            if (prefixed) handler.erase(0, 3);
            auto [place, inserted] = found.emplace(handler, item.path());
            if (!inserted && !prefixed && place->second.parent_path() == item.path().parent_path() &&
                place->second.filename().string().starts_with("lib"))
                place->second = item.path();
        }
    }
    return found;
}

std::shared_ptr<PluginHost> PluginHost::load(const GatewayConfig& config, LoadPurpose purpose,
                                             const PluginHost* previous) {
    std::shared_ptr<PluginHost> host(new PluginHost());
    // What a reload may take over: instances only when serving (a check never borrows one).
    std::map<std::string, std::shared_ptr<PluginInstance>> reusable;
    if (previous && purpose == LoadPurpose::serve)
        for (const auto& [key, instance] : previous->instances_) reusable.emplace(key, instance);
    std::vector<ConfigError> errors;
    const auto folders = plugin_search_path(config);
    std::optional<std::map<std::string, fs::path>> available;  // listed lazily, for suggestions
    std::map<std::string, fs::path> file_of_name;              // plugin name -> file declaring it
    const std::string config_folder =
        config.file.empty() ? std::string() : fs::absolute(config.file).parent_path().lexically_normal().string();

    // Resolve, load and instantiate every enabled entry.
    struct Created {
        const PluginEntryConfig* entry;
        std::shared_ptr<PluginInstance> instance;
        std::string identity;  // what a later reload recognizes it by
    };
    std::vector<Created> created;
    for (const auto& entry : config.plugins) {
        if (!entry.enabled) continue;
        fs::path file;
        std::error_code fs_error;
        if (entry.path) {
            file = *entry.path;
            if (!fs::exists(file, fs_error)) {
                errors.push_back({entry.where, "plugin file " + file.string() + " does not exist"});
                continue;
            }
        } else {
            for (const auto& folder : folders) {
                for (const auto& name : plugin_file_names(entry.handler)) {
                    fs::path candidate = folder / name;
                    if (file.empty() && fs::exists(candidate, fs_error)) file = candidate;
                }
                if (!file.empty()) break;
            }
            if (file.empty()) {
                if (!available) available = discover_plugins(folders);
                std::vector<std::string> names;
                for (const auto& [name, path] : *available) names.push_back(name);
                errors.push_back({entry.where, "plugin '" + entry.handler + "' not found; searched: " +
                                                   join_paths(folders) + did_you_mean(entry.handler, names)});
                continue;
            }
        }
        if (fs::path canonical = fs::weakly_canonical(file, fs_error); !fs_error) file = canonical;
        if (!config.allow_insecure_plugin_paths) {
            if (auto why = insecure_reason(file)) {
                errors.push_back({entry.where, "refusing plugin " + file.string() + ": " + *why +
                                                   " (set allow_insecure_plugin_paths: true to allow)"});
                continue;
            }
        }
        std::shared_ptr<PluginModule> module;
        if (auto loaded = host->modules_.find(file); loaded != host->modules_.end()) {
            module = loaded->second;
        } else {
            try {
                // A file the running host loaded is not loaded again (dlopen would hand back the same).
                const auto* running = previous ? &previous->modules_ : nullptr;
                auto loaded_before = running ? running->find(file) : decltype(modules_)::const_iterator{};
                module = running && loaded_before != running->end() ? loaded_before->second : PluginModule::load(file);
            } catch (const PluginLoadError& e) {
                errors.push_back({entry.where, e.what()});
                continue;
            }
            auto [declared, inserted] = file_of_name.emplace(module->name(), file);
            if (!inserted) {
                errors.push_back({entry.where, "duplicate plugin name '" + module->name() + "': declared by " +
                                                   declared->second.string() + " and " + file.string()});
                continue;
            }
            host->modules_.emplace(file, module);
        }
        if (!entry.handler.empty() && module->name() != entry.handler) {
            errors.push_back({entry.where, "file " + file.string() + " declares plugin '" + module->name() +
                                               "', not '" + entry.handler + "'"});
            continue;
        }
        if ((module->descriptor().kinds & role_kind_bit(entry.role)) == 0) {
            std::string kinds;
            for (PluginRole role : {PluginRole::security, PluginRole::middleware, PluginRole::auditing})
                if (module->descriptor().kinds & role_kind_bit(role))
                    kinds += (kinds.empty() ? "" : ", ") + std::string(role_name(role));
            errors.push_back({entry.where, "plugin '" + module->name() + "' cannot be placed under " +
                                               std::string(role_name(entry.role)) + ": it is a " + kinds + " plugin"});
            continue;
        }
        if ((module->descriptor().flags & WG_PLUGIN_UPSTREAM_ONLY) && entry.scope == global_scope) {
            errors.push_back({entry.where, "plugin '" + module->name() +
                                               "' works on one upstream's names: place it under an upstream, not '" +
                                               global_scope + "'"});
            continue;
        }
        const std::string identity = std::string(role_name(entry.role)) + "\n" + entry.scope + "\n" + file.string() +
                                     "\n" + entry.instance + "\n" + dump_json(entry.config);
        if (auto same = reusable.find(identity); same != reusable.end()) {
            created.push_back({&entry, same->second, identity});
            reusable.erase(same);  // one entry each
            ++host->reused_;
            continue;
        }
        try {
            created.push_back({&entry,
                               PluginInstance::create(module, entry.role, dump_json(entry.config), config_folder,
                                                      purpose == LoadPurpose::validate ? WG_CREATE_VALIDATE_ONLY : 0u,
                                                      entry.instance),
                               identity});
        } catch (const PluginConfigRejected& e) {
            for (const auto& problem : e.errors) {
                std::string where = problem.pointer.empty() ? "config" : "config" + problem.pointer;
                errors.push_back({entry.locate(problem.pointer),
                                  "plugin '" + module->name() + "': " + where + ": " + problem.message});
            }
        }
    }
    if (!errors.empty()) throw ConfigErrors(std::move(errors));

    // Merge `_global` with each upstream's own list, by entry key.
    auto build = [&](const std::string& upstream) {
        std::vector<PipelineEntry> stages;
        std::vector<PipelineEntry> auditors;
        for (PluginRole role : {PluginRole::security, PluginRole::middleware, PluginRole::auditing}) {
            std::vector<std::pair<std::string, std::optional<PipelineEntry>>> merged;
            auto place = [&](const PluginEntryConfig& entry, std::optional<PipelineEntry> value) {
                const std::string key = entry_key(entry);
                auto same = std::find_if(merged.begin(), merged.end(), [&](const auto& m) { return m.first == key; });
                if (same != merged.end())
                    same->second = std::move(value);  // replaces in place
                else
                    merged.emplace_back(key, std::move(value));
            };
            for (const std::string& scope : {std::string(global_scope), upstream}) {
                if (scope.empty()) continue;
                for (const auto& entry : config.plugins) {
                    if (entry.role != role || entry.scope != scope) continue;
                    std::optional<PipelineEntry> value;
                    if (entry.enabled) {
                        auto it = std::find_if(created.begin(), created.end(),
                                               [&](const Created& c) { return c.entry == &entry; });
                        value = PipelineEntry{it->instance, entry.priority, entry.critical, entry.reach};
                    }
                    place(entry, std::move(value));
                }
            }
            for (auto& [key, value] : merged) {
                if (!value) continue;  // switched off here
                (role == PluginRole::auditing ? auditors : stages).push_back(std::move(*value));
            }
        }
        return Pipeline::create(upstream, std::move(stages), std::move(auditors));
    };
    for (auto& made : created) host->instances_.emplace_back(made.identity, made.instance);
    host->global_ = build("");
    for (const auto& upstream : config.upstreams) host->pipelines_.emplace(upstream.name, build(upstream.name));
    return host;
}

std::shared_ptr<const Pipeline> PluginHost::pipeline(std::string_view upstream) const {
    auto found = pipelines_.find(upstream);
    return found != pipelines_.end() ? found->second : global_;
}

std::vector<std::shared_ptr<PluginInstance>> PluginHost::instances() const {
    std::vector<std::shared_ptr<PluginInstance>> out;
    for (const auto& [identity, instance] : instances_) out.push_back(instance);
    return out;
}

void PluginHost::reopen() const {
    for (const auto& [identity, instance] : instances_) {
        const auto& descriptor = instance->descriptor();
        if (descriptor.reopen) descriptor.reopen(instance->handle());
    }
}

}  // namespace watchgate::core
