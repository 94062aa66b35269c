"""A client of the original protos.Longlived contract (Request{string id = 1}, Response{string data = 1}) on gRPC
C-core, as Debian packages it (python3-grpcio): the stack of Python, Ruby, PHP and C++ clients.

    original_client.py TARGET ID COUNT [--authority HOST:PORT] [--timeout SECONDS]

Subscribes as ID with round_robin over TARGET (e.g. ipv4:127.0.0.1:7071,127.0.0.1:7072), prints each message's data,
and exits 0 after COUNT messages. On a gRPC error it prints "status CODE: DETAILS" and exits 3.
"""
import argparse
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def original_contract():
    """The original messages, built at run time: no generated code, no protoc (not packaged for this grpcio)."""
    proto = descriptor_pb2.FileDescriptorProto(name="longlived_original.proto", package="protos", syntax="proto3")
    for name, field in (("Request", "id"), ("Response", "data")):
        message = proto.message_type.add(name=name)
        message.field.add(name=field, number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                          label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    factory = message_factory.MessageFactory(pool)
    return (factory.GetPrototype(pool.FindMessageTypeByName("protos.Request")),
            factory.GetPrototype(pool.FindMessageTypeByName("protos.Response")))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("id")
    parser.add_argument("count", type=int)
    parser.add_argument("--authority", help="grpc.default_authority: what C-core sends as :authority")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    request_type, response_type = original_contract()
    options = [("grpc.lb_policy_name", "round_robin")]
    if args.authority:
        options.append(("grpc.default_authority", args.authority))
    with grpc.insecure_channel(args.target, options=options) as channel:
        subscribe = channel.unary_stream("/protos.Longlived/Subscribe",
                                         request_serializer=request_type.SerializeToString,
                                         response_deserializer=response_type.FromString)
        received = 0
        try:
            for response in subscribe(request_type(id=args.id), timeout=args.timeout):
                print(response.data, flush=True)
                received += 1
                if received == args.count:
                    return 0
        except grpc.RpcError as error:
            print(f"status {error.code().name}: {error.details()}", flush=True)
            return 3
    print(f"status OK: the stream ended after {received} messages", flush=True)
    return 3


if __name__ == "__main__":
    sys.exit(main())
