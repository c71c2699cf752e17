# Installation and the Debian package (PACKAGING.md §2.4; docs/DEPLOYMENT.md "systemd and .deb").
# install() rules and CPack settings only: `cmake --build` and the tests do not change.
#
#   cpack -G DEB --config build/CPackConfig.cmake   # -> peat-node_<version>_<arch>.deb
#
# Package layout (the paths of Debian 12): /usr/bin/peat-node (stripped), the unit in
# /lib/systemd/system, the peat user in /usr/lib/sysusers.d, /etc/peat-node/peat-node.env (a
# conffile, 0640; postinst makes it root:peat), its pristine copy in /usr/share/peat-node, the man
# page, copyright and changelog. The version is project()'s, the one version of every artifact.

set(PEAT_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(PEAT_PACKAGING_OUT ${PROJECT_BINARY_DIR}/packaging)
set(PEAT_DEB_MAINTAINER "peat-node maintainers <maintainers@users.noreply.r-seed-c76cd9c0.example>")
set(PEAT_DEB_VERSION ${PROJECT_VERSION})  # native package: no Debian revision

# Relative destinations land under CPACK_PACKAGING_INSTALL_PREFIX (/usr); the paths Debian fixes
# outside /usr are absolute.
install(TARGETS peat-node RUNTIME DESTINATION bin)
# CPACK_STRIP_FILES strips it; this also drops the sections dh_strip drops (lintian:
# binary-has-unneeded-section).
install(CODE "if(CMAKE_INSTALL_DO_STRIP)
  execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment --remove-section=.note
                  \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/bin/peat-node\" COMMAND_ERROR_IS_FATAL ANY)
endif()")
install(FILES ${PEAT_PACKAGING_DIR}/systemd/peat-node.service DESTINATION /lib/systemd/system)
install(FILES ${PEAT_PACKAGING_DIR}/sysusers.d/peat-node.conf DESTINATION lib/sysusers.d)
install(FILES ${PEAT_PACKAGING_DIR}/peat-node.env DESTINATION /etc/peat-node
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PEAT_PACKAGING_DIR}/peat-node.env DESTINATION share/peat-node
        RENAME peat-node.env.example)

# Compressed with gzip -n (no name, no timestamp: reproducible), at configure time.
function(peat_gzip_configured template output)
  configure_file(${template} ${PEAT_PACKAGING_OUT}/${output} @ONLY)
  execute_process(COMMAND gzip -9nf ${PEAT_PACKAGING_OUT}/${output} COMMAND_ERROR_IS_FATAL ANY)
endfunction()
string(TIMESTAMP PEAT_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
peat_gzip_configured(${PEAT_PACKAGING_DIR}/deb/changelog.in changelog)
peat_gzip_configured(${PEAT_PACKAGING_DIR}/deb/peat-node.1.in peat-node.1)
install(FILES ${PEAT_PACKAGING_OUT}/peat-node.1.gz DESTINATION share/man/man1)
install(FILES ${PEAT_PACKAGING_OUT}/changelog.gz ${PEAT_PACKAGING_DIR}/deb/copyright
        DESTINATION share/doc/peat-node)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME peat-node)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${PEAT_DEB_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sidecar that is a full peer of a leaderless document mesh")
# The extended description; CPack puts the summary above it as the synopsis.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "peat-node serves an API (Connect, gRPC and gRPC-Web on one port) over a CRDT
document store and replicates the documents with the other nodes of its
formation over a TLS mesh. This package runs it as the systemd service
peat-node.service under the dedicated user peat, configured in
/etc/peat-node/peat-node.env.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION ${PEAT_DEB_VERSION})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
file(WRITE ${PEAT_PACKAGING_OUT}/conffiles "/etc/peat-node/peat-node.env\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PEAT_PACKAGING_OUT}/conffiles ${PEAT_PACKAGING_DIR}/deb/postinst ${PEAT_PACKAGING_DIR}/deb/prerm
    ${PEAT_PACKAGING_DIR}/deb/postrm)
include(CPack)
