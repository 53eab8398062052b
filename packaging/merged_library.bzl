"""mproc_merged_library: one installable library out of many cc_library targets.

Bazel leaves a library as one archive per cc_library; a user of the package
links a single `libNAME.a` or `libNAME.so`. This rule gathers the archives of
every target in `deps`' closure (less those in `exclude`'s closure, which live
in another merged library), and makes

  libNAME.a          the archives' members in one archive;
  libNAME.so.SOVERSION
                     a shared library of all of them (whole-archive, so
                     nothing unreferenced is dropped), linked with -z defs
                     against the system libraries and `shared_deps`,
                     exporting only what `version_script` lets out;
  NAME.linkflags     the system libraries' linker flags, one per line, in
                     link order: what a static link needs after libNAME.a
                     (scripts/package.sh writes them into the pkg-config and
                     CMake files).
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

MergedLibraryInfo = provider(
    doc = "The shared library a merged library made, for others to link.",
    fields = ["shared_library", "link_name"],
)

def _archives(targets):
    """The static archives and linker flags of targets' closure, in order."""
    archives = []
    flags = []
    for target in targets:
        for linker_input in target[CcInfo].linking_context.linker_inputs.to_list():
            for library in linker_input.libraries:
                archive = library.pic_static_library or library.static_library
                if archive and archive not in archives:
                    archives.append(archive)
            for flag in linker_input.user_link_flags:
                if flag not in flags:
                    flags.append(flag)
    return archives, flags

def _mproc_merged_library_impl(ctx):
    archives, flags = _archives(ctx.attr.deps)
    excluded, excluded_flags = _archives(ctx.attr.exclude)
    archives = [a for a in archives if a not in excluded]
    if not archives:
        fail("%s: nothing left to merge" % ctx.label)

    cc_toolchain = find_cpp_toolchain(ctx)
    features = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    ar = cc_common.get_tool_for_action(
        feature_configuration = features,
        action_name = "c++-link-static-library",
    )
    linker = cc_common.get_tool_for_action(
        feature_configuration = features,
        action_name = "c++-link-dynamic-library",
    )

    name = ctx.attr.library_name
    static = ctx.actions.declare_file("lib%s.a" % name)
    soname = "lib%s.so.%s" % (name, ctx.attr.soversion)
    shared = ctx.actions.declare_file(soname)
    linkflags = ctx.actions.declare_file("%s.linkflags" % name)

    # ar's MRI script: members of every archive into one.
    script = ctx.actions.declare_file("%s.mri" % name)
    ctx.actions.write(script, "".join(
        ["CREATE %s\n" % static.path] +
        ["ADDLIB %s\n" % a.path for a in archives] +
        ["SAVE\n", "END\n"],
    ))
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [static],
        tools = cc_toolchain.all_files,
        command = '"$1" -M < "$2"',
        arguments = [ar, script.path],
        use_default_shell_env = True,
        mnemonic = "MergeArchives",
        progress_message = "Merging %d archives into %s" % (len(archives), static.short_path),
    )

    shared_deps = [d[MergedLibraryInfo] for d in ctx.attr.shared_deps]
    args = ctx.actions.args()
    args.add_all(["-shared", "-o", shared, "-Wl,-soname," + soname, "-Wl,-z,defs"])
    args.add("-Wl,--version-script," + ctx.file.version_script.path)
    args.add_all(["-Wl,--whole-archive", static, "-Wl,--no-whole-archive"])
    for dep in shared_deps:
        args.add(dep.shared_library)
    args.add_all(flags)
    args.add_all(["-pthread", "-lstdc++", "-lm"])
    ctx.actions.run(
        executable = linker,
        arguments = [args],
        inputs = depset(
            [static, ctx.file.version_script] + [d.shared_library for d in shared_deps],
            transitive = [cc_toolchain.all_files],
        ),
        outputs = [shared],
        use_default_shell_env = True,
        mnemonic = "LinkMergedLibrary",
        progress_message = "Linking %s" % shared.short_path,
    )

    own_flags = [f for f in flags if f not in excluded_flags] if ctx.attr.exclude else flags
    ctx.actions.write(linkflags, "".join([f + "\n" for f in own_flags]))
    return [
        DefaultInfo(files = depset([static, shared, linkflags])),
        MergedLibraryInfo(shared_library = shared, link_name = name),
    ]

mproc_merged_library = rule(
    implementation = _mproc_merged_library_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "exclude": attr.label_list(providers = [CcInfo]),
        "shared_deps": attr.label_list(providers = [MergedLibraryInfo]),
        "library_name": attr.string(mandatory = True),
        "soversion": attr.string(mandatory = True),
        "version_script": attr.label(allow_single_file = True, mandatory = True),
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
