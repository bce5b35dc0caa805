# Install rules for the three ways Sanad is consumed (README "Install"):
#   * the CMake package: headers under include/sanad/, the static libraries
#     as Sanad:: targets, SanadConfig.cmake + version file (find_package);
#   * the `sanad` command line tool;
#   * the Python package (component "python", rules in python/CMakeLists.txt);
# and the Debian package CPack builds from them (`cpack -G DEB`).
include(CMakePackageConfigHelpers)

set(SANAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Sanad)
get_property(SANAD_LIBRARIES GLOBAL PROPERTY SANAD_EXPORTED_LIBRARIES)
set_target_properties(sanad_options PROPERTIES EXPORT_NAME options)

install(TARGETS ${SANAD_LIBRARIES} sanad_options EXPORT SanadTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(dir IN LISTS SANAD_HEADER_DIRS)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/sanad/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sanad/${dir}
    COMPONENT dev FILES_MATCHING PATTERN "*.h")
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/include/sanad/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sanad COMPONENT dev)
install(EXPORT SanadTargets NAMESPACE Sanad:: DESTINATION ${SANAD_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SanadConfig.cmake.in
  ${CMAKE_BINARY_DIR}/SanadConfig.cmake INSTALL_DESTINATION ${SANAD_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/SanadConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/SanadConfig.cmake ${CMAKE_BINARY_DIR}/SanadConfigVersion.cmake
  DESTINATION ${SANAD_CMAKE_DIR} COMPONENT dev)

install(TARGETS sanad RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)


# The .deb: everything above in one package. The libraries are static, so a
# consumer's find_package(Sanad) needs the -dev packages of what they use;
# dpkg-shlibdeps adds the runtime libraries of the CLI and the module.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sanad)
set(CPACK_PACKAGE_VENDOR "Sanad")
set(CPACK_PACKAGE_CONTACT "Sanad engineers <sanad@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Rules engine that adjudicates and settles health insurance claims")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "python3 (>= 3.11), python3 (<< 3.12), python3-numpy, python3-pandas, libtbb-dev, libsimdjson-dev, libxxhash-dev, libfmt-dev, libabsl-dev, pkg-config")
# sanad.dask needs Dask; the rest of the package does not.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-dask, python3-distributed")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
