# Debian packages: `cmake --workflow --preset package` (or `cpack -G DEB` in a build folder) makes
#   watchgate_<version>_<arch>.deb      the binary, the bundled plugins, the docs, a systemd unit
#                                       for HTTP mode and its example configuration;
#   watchgate-dev_<version>_all.deb     the plugin SDK (headers, CMake package).
# Install with `sudo apt install ./watchgate_<version>_<arch>.deb` (docs/quickstart.md).
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(FILES packaging/gateway-http.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT runtime)
# Under the prefix (/usr/lib/systemd/system in the package): where Debian 12's systemd looks.
install(FILES packaging/watchgate.service DESTINATION lib/systemd/system COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME watchgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "The Watchgate developers <watchgate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MCP security gateway: one MCP server in front of many, with plugins")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime sdk)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME watchgate)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)  # Depends from the libraries the binary and plugins link
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "MCP security gateway\n An MCP client starts watchgate in place of its servers; watchgate starts or connects\n to the real MCP servers, presents them as one, and passes every message through\n plugins: PII, secrets and prompt-injection filters, tool allow-lists, audit trails.")
set(CPACK_DEBIAN_SDK_PACKAGE_NAME watchgate-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_SDK_PACKAGE_ARCHITECTURE all)  # headers and a CMake package only
set(CPACK_DEBIAN_SDK_PACKAGE_RECOMMENDS watchgate)
set(CPACK_DEBIAN_SDK_DESCRIPTION
    "Watchgate plugin SDK\n The C ABI header (plugin.h), its C++ wrapper (plugin.hpp) and a CMake package\n (find_package(WatchgateSDK)) for building Watchgate plugins out of tree.")
include(CPack)
