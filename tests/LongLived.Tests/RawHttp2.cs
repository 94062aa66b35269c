using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;

namespace LongLived.Tests;

/// <summary>
/// A tiny hand-written HTTP/2 client over a TcpClient, for what grpc-dotnet will not do: open streams and never give
/// flow-control window (a client that never reads), and send malformed frames (the fuzzer). It writes the frames it is
/// told to; a background loop reads what the server sends, ACKs SETTINGS and PING (so the connection itself stays
/// healthy: only the streams starve) and records per stream the header blocks, RST_STREAM and END_STREAM.
/// Request headers are HPACK literals without indexing (no Huffman); the server's header blocks are decoded with the
/// static table and a dynamic table (we announce SETTINGS_HEADER_TABLE_SIZE = 0, so Kestrel should not need it).
/// </summary>
public sealed class RawHttp2 : IAsyncDisposable
{
    public const byte Data = 0, Headers = 1, Priority = 2, RstStream = 3, Settings = 4, PushPromise = 5, Ping = 6, GoAway = 7, WindowUpdate = 8, Continuation = 9;
    public const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;
    public static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly TcpClient _tcp;
    private readonly NetworkStream _net;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, StreamState> _streams = new();
    private readonly HpackDecoder _decoder = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextStreamId = 1;
    private Task _reader = Task.CompletedTask;

    private RawHttp2(TcpClient tcp)
    {
        _tcp = tcp;
        _net = tcp.GetStream();
    }

    public int Port { get; private set; }
    /// <summary>The error code of a GOAWAY the server sent, if any.</summary>
    public uint? GoAwayCode { get; private set; }
    /// <summary>Completes when the server closed the connection (or it broke).</summary>
    public Task Closed => _closed.Task;
    public bool AutoAck { get; set; } = true;

    /// <summary>
    /// Connects to loopback <paramref name="port"/>; unless <paramref name="handshake"/> is false, sends the preface and
    /// SETTINGS (header table 0, no push, INITIAL_WINDOW_SIZE = <paramref name="initialWindow"/>).
    /// </summary>
    public static async Task<RawHttp2> ConnectAsync(int port, uint initialWindow = 65535, bool handshake = true, CancellationToken ct = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var raw = new RawHttp2(tcp) { Port = port };
        raw._reader = Task.Run(raw.ReadLoopAsync);
        if (handshake)
        {
            await raw.WriteAsync(Preface, ct);
            await raw.SendFrameAsync(Settings, 0, 0, SettingsPayload((1, 0), (2, 0), (4, initialWindow)), ct);
        }
        return raw;
    }

    public static byte[] SettingsPayload(params (ushort Id, uint Value)[] settings)
    {
        var payload = new byte[settings.Length * 6];
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(i * 6 + 2), settings[i].Value);
        }
        return payload;
    }

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload, int? lyingLength = null)
    {
        var frame = new byte[9 + payload.Length];
        var length = lyingLength ?? payload.Length;
        frame[0] = (byte)(length >> 16);
        frame[1] = (byte)(length >> 8);
        frame[2] = (byte)length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId & 0x7FFFFFFF);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    public Task SendFrameAsync(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload, CancellationToken ct = default) =>
        WriteAsync(Frame(type, flags, streamId, payload), ct);

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct = default)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            await _net.WriteAsync(bytes, ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The header block of a gRPC call to <paramref name="path"/>: HPACK literals without indexing.</summary>
    public static byte[] GrpcRequestHeaders(int port, string path)
    {
        var block = new List<byte>();
        foreach (var (name, value) in new[]
                 {
                     (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", $"127.0.0.1:{port}"),
                     ("content-type", "application/grpc"), ("te", "trailers"),
                 })
        {
            block.Add(0x00); // literal without indexing, new name
            AppendString(block, name);
            AppendString(block, value);
        }
        return [.. block];
    }

    private static void AppendString(List<byte> block, string s)
    {
        var bytes = Encoding.ASCII.GetBytes(s);
        AppendInt(block, 0x00, 7, bytes.Length); // H = 0: no Huffman
        block.AddRange(bytes);
    }

    /// <summary>An HPACK integer with an <paramref name="prefixBits"/>-bit prefix (RFC 7541 §5.1).</summary>
    public static void AppendInt(List<byte> block, byte high, int prefixBits, long value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Add((byte)(high | value));
            return;
        }
        block.Add((byte)(high | max));
        value -= max;
        while (value >= 128)
        {
            block.Add((byte)(value % 128 + 128));
            value /= 128;
        }
        block.Add((byte)value);
    }

    /// <summary>A gRPC length-prefixed message: flag 0 (not compressed), big-endian length, the bytes.</summary>
    public static byte[] GrpcMessage(ReadOnlySpan<byte> message)
    {
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed.AsSpan(5));
        return framed;
    }

    public static byte[] GrpcMessage(IMessage message) => GrpcMessage(message.ToByteArray());

    /// <summary>Opens a stream: HEADERS (END_HEADERS), then one DATA frame with <paramref name="body"/> and END_STREAM.</summary>
    public async Task<StreamState> OpenGrpcStreamAsync(string path, byte[] body, CancellationToken ct = default)
    {
        var id = NextStreamId();
        var state = Stream(id);
        await WriteAsync(Frame(Headers, EndHeaders, id, GrpcRequestHeaders(Port, path)).Concat(Frame(Data, EndStream, id, body)).ToArray(), ct);
        return state;
    }

    public int NextStreamId() => Interlocked.Add(ref _nextStreamId, 2) - 2;

    /// <summary>What the server sent on stream <paramref name="id"/> so far.</summary>
    public StreamState Stream(int id) => _streams.GetOrAdd(id, i => new StreamState(i));

    public IReadOnlyCollection<StreamState> Streams => [.. _streams.Values];

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        var blocks = new Dictionary<int, List<byte>>(); // header blocks waiting for CONTINUATION
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await _net.ReadExactlyAsync(header, _stop.Token);
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var type = header[3];
                var flags = header[4];
                var id = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF;
                var payload = new byte[length];
                await _net.ReadExactlyAsync(payload, _stop.Token);
                switch (type)
                {
                    case Data:
                        Stream(id).AddData(length);
                        if ((flags & EndStream) != 0) Stream(id).Finish();
                        break;
                    case Headers or Continuation:
                    {
                        var fragment = payload.AsSpan();
                        if (type == Headers)
                        {
                            var padding = 0;
                            if ((flags & Padded) != 0) { padding = fragment[0]; fragment = fragment[1..]; }
                            if ((flags & PriorityFlag) != 0) fragment = fragment[5..];
                            fragment = fragment[..^padding];
                            blocks[id] = [];
                            if ((flags & EndStream) != 0) Stream(id).EndStreamPending = true;
                        }
                        if (!blocks.TryGetValue(id, out var block)) break;
                        block.AddRange(fragment.ToArray());
                        if ((flags & EndHeaders) == 0) break;
                        blocks.Remove(id);
                        var state = Stream(id);
                        state.AddHeaderBlock(_decoder.Decode([.. block]));
                        if (state.EndStreamPending) state.Finish();
                        break;
                    }
                    case RstStream:
                        Stream(id).Reset(length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(payload) : uint.MaxValue);
                        break;
                    case Settings when (flags & Ack) == 0 && AutoAck:
                        await SendFrameAsync(Settings, Ack, 0, []);
                        break;
                    case Ping when (flags & Ack) == 0 && AutoAck:
                        await SendFrameAsync(Ping, Ack, 0, payload);
                        break;
                    case GoAway:
                        GoAwayCode = length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4)) : uint.MaxValue;
                        break;
                }
            }
        }
        catch (Exception)
        {
            // Closed by the server, by us, or garbage: either way the connection is over.
        }
        finally
        {
            foreach (var stream in _streams.Values) stream.ConnectionClosed();
            _closed.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _tcp.Dispose();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
    }

    /// <summary>What one stream received: header blocks (response headers, then trailers), DATA bytes, how it ended.</summary>
    public sealed class StreamState(int id)
    {
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<List<KeyValuePair<string, string>>> _blocks = [];
        private long _dataBytes;

        public int Id { get; } = id;
        internal bool EndStreamPending { get; set; }
        public long DataBytes => Interlocked.Read(ref _dataBytes);
        /// <summary>The RST_STREAM error code, if the server reset the stream.</summary>
        public uint? ResetCode { get; private set; }
        /// <summary>True when the stream ended because the whole connection closed.</summary>
        public bool ByConnectionClose { get; private set; }
        /// <summary>Completes when the stream ended: END_STREAM, RST_STREAM or the connection closed.</summary>
        public Task Ended => _ended.Task;

        public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> HeaderBlocks { get { lock (_blocks) return [.. _blocks]; } }

        /// <summary>The first value of <paramref name="name"/> in any header block (headers or trailers).</summary>
        public string? Header(string name)
        {
            lock (_blocks) return _blocks.SelectMany(b => b).Where(h => h.Key == name).Select(h => h.Value).FirstOrDefault();
        }

        public string? GrpcStatus => Header("grpc-status");

        internal void AddData(int length) => Interlocked.Add(ref _dataBytes, length);
        internal void AddHeaderBlock(List<KeyValuePair<string, string>> block) { lock (_blocks) _blocks.Add(block); }
        internal void Finish() => _ended.TrySetResult();
        internal void Reset(uint code) { ResetCode = code; _ended.TrySetResult(); }
        internal void ConnectionClosed() { if (_ended.TrySetResult()) ByConnectionClose = true; }

        public override string ToString() =>
            $"stream {Id}: {(Ended.IsCompleted ? "ended" : "open")}, data {DataBytes} B, rst {ResetCode?.ToString() ?? "-"}, " +
            $"connection closed {ByConnectionClose}, headers [{string.Join("; ", HeaderBlocks.Select(b => string.Join(", ", b.Select(h => $"{h.Key}={h.Value}"))))}]";
    }

    /// <summary>RFC 7541 decoding without Huffman (Kestrel writes plain literals); a Huffman string reads as "&lt;huffman&gt;".</summary>
    private sealed class HpackDecoder
    {
        private readonly List<KeyValuePair<string, string>> _dynamic = []; // newest first
        private int _size, _maxSize = 4096;

        public List<KeyValuePair<string, string>> Decode(byte[] block)
        {
            var fields = new List<KeyValuePair<string, string>>();
            var i = 0;
            while (i < block.Length)
            {
                var b = block[i];
                if ((b & 0x80) != 0)
                {
                    fields.Add(Entry((int)ReadInt(block, ref i, 7)));
                }
                else if ((b & 0xE0) == 0x20)
                {
                    _maxSize = (int)ReadInt(block, ref i, 5);
                    Evict(0);
                }
                else
                {
                    var indexing = (b & 0xC0) == 0x40;
                    var index = (int)ReadInt(block, ref i, indexing ? 6 : 4);
                    var name = index == 0 ? ReadString(block, ref i) : Entry(index).Key;
                    var value = ReadString(block, ref i);
                    var field = new KeyValuePair<string, string>(name, value);
                    fields.Add(field);
                    if (indexing) Add(field);
                }
            }
            return fields;
        }

        private KeyValuePair<string, string> Entry(int index)
        {
            if (index >= 1 && index <= StaticTable.Length) return StaticTable[index - 1];
            var d = index - StaticTable.Length - 1;
            return d >= 0 && d < _dynamic.Count ? _dynamic[d] : new($"<bad index {index}>", "");
        }

        private void Add(KeyValuePair<string, string> field)
        {
            var size = field.Key.Length + field.Value.Length + 32;
            Evict(size);
            if (size > _maxSize) return;
            _dynamic.Insert(0, field);
            _size += size;
        }

        private void Evict(int room)
        {
            while (_dynamic.Count > 0 && _size + room > _maxSize)
            {
                var last = _dynamic[^1];
                _size -= last.Key.Length + last.Value.Length + 32;
                _dynamic.RemoveAt(_dynamic.Count - 1);
            }
        }

        private static long ReadInt(byte[] block, ref int i, int prefixBits)
        {
            var max = (1 << prefixBits) - 1;
            long value = block[i++] & max;
            if (value < max) return value;
            var shift = 0;
            while (true)
            {
                var b = block[i++];
                value += (long)(b & 0x7F) << shift;
                shift += 7;
                if ((b & 0x80) == 0) return value;
            }
        }

        private static string ReadString(byte[] block, ref int i)
        {
            var huffman = (block[i] & 0x80) != 0;
            var length = (int)ReadInt(block, ref i, 7);
            var s = huffman ? "<huffman>" : Encoding.Latin1.GetString(block, i, length);
            i += length;
            return s;
        }

        private static readonly KeyValuePair<string, string>[] StaticTable =
        [
            new(":authority", ""), new(":method", "GET"), new(":method", "POST"), new(":path", "/"), new(":path", "/index.html"),
            new(":scheme", "http"), new(":scheme", "https"), new(":status", "200"), new(":status", "204"), new(":status", "206"),
            new(":status", "304"), new(":status", "400"), new(":status", "404"), new(":status", "500"), new("accept-charset", ""),
            new("accept-encoding", "gzip, deflate"), new("accept-language", ""), new("accept-ranges", ""), new("accept", ""),
            new("access-control-allow-origin", ""), new("age", ""), new("allow", ""), new("authorization", ""),
            new("cache-control", ""), new("content-disposition", ""), new("content-encoding", ""), new("content-language", ""),
            new("content-length", ""), new("content-location", ""), new("content-range", ""), new("content-type", ""),
            new("cookie", ""), new("date", ""), new("etag", ""), new("expect", ""), new("expires", ""), new("from", ""),
            new("host", ""), new("if-match", ""), new("if-modified-since", ""), new("if-none-match", ""), new("if-range", ""),
            new("if-unmodified-since", ""), new("last-modified", ""), new("link", ""), new("location", ""),
            new("max-forwards", ""), new("proxy-authenticate", ""), new("proxy-authorization", ""), new("range", ""),
            new("referer", ""), new("refresh", ""), new("retry-after", ""), new("server", ""), new("set-cookie", ""),
            new("strict-transport-security", ""), new("transfer-encoding", ""), new("user-agent", ""), new("vary", ""),
            new("via", ""), new("www-authenticate", ""),
        ];
    }
}
