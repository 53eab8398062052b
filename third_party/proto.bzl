"""Turns a .proto file into C++ libraries, using Debian's protoc."""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cc_grpc_proto_library(name, src, visibility = None):
    """Generates <base>.pb.{h,cc} and <base>.grpc.pb.{h,cc} from `src`.

    Defines two libraries: `name` with the messages only (protobuf, no
    gRPC), and `name + "_grpc"` with the service stubs on top of it.

    protoc runs from the root of the repository that holds `src`
    (`$(location)` paths start with `external/<repo>/` when this is used
    from another workspace), so the generated code includes
    "<package>/<base>.pb.h" wherever it is built.

    Args:
      name: the message library to define.
      src: one .proto file in this package.
      visibility: visibility of both libraries.
    """
    base = src[:-len(".proto")]
    msg_outs = [base + ".pb.h", base + ".pb.cc"]
    grpc_outs = [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    # The repository root as protoc's proto_path: "." here, "external/<repo>"
    # from another workspace.
    root = native.repository_name()
    proto_path = "." if root == "@" else "external/" + root[1:]
    native.genrule(
        name = name + "_gen",
        srcs = [src],
        outs = msg_outs + grpc_outs,
        cmd = " ".join([
            "protoc",
            "--proto_path=" + proto_path,
            "--cpp_out=$(GENDIR)" + ("" if root == "@" else "/" + proto_path),
            "--grpc_out=$(GENDIR)" + ("" if root == "@" else "/" + proto_path),
            "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)",
            "$(location " + src + ")",
        ]),
    )
    cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        deps = ["//third_party:protobuf"],
        visibility = visibility,
    )
    cc_library(
        name = name + "_grpc",
        srcs = [base + ".grpc.pb.cc"],
        hdrs = [base + ".grpc.pb.h"],
        deps = [
            ":" + name,
            "//third_party:grpc++",
        ],
        visibility = visibility,
    )
