"""Turns a .proto file into a C++ library with gRPC stubs, using Debian's protoc."""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cc_grpc_proto_library(name, src, deps = [], visibility = None):
    """Generates <base>.pb.{h,cc} and <base>.grpc.pb.{h,cc} from `src`.

    Args:
      name: the cc_library to define.
      src: one .proto file in this package.
      deps: extra cc deps of the generated code.
      visibility: visibility of the library.
    """
    base = src[:-len(".proto")]
    outs = [
        base + ".pb.h",
        base + ".pb.cc",
        base + ".grpc.pb.h",
        base + ".grpc.pb.cc",
    ]
    native.genrule(
        name = name + "_gen",
        srcs = [src],
        outs = outs,
        cmd = " ".join([
            "protoc",
            "--proto_path=.",
            "--cpp_out=$(GENDIR)",
            "--grpc_out=$(GENDIR)",
            "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)",
            "$(location " + src + ")",
        ]),
    )
    cc_library(
        name = name,
        srcs = [base + ".pb.cc", base + ".grpc.pb.cc"],
        hdrs = [base + ".pb.h", base + ".grpc.pb.h"],
        deps = deps + ["//third_party:grpc++", "//third_party:protobuf"],
        visibility = visibility,
    )
