using System.Text;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>Builds GGUF bytes field by field, so tests can write files the real writer never would.</summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _bytes = new();
    private readonly BinaryWriter _w;

    public RawGguf() => _w = new BinaryWriter(_bytes, Encoding.UTF8, leaveOpen: true);

    public long Position => _bytes.Position;

    public RawGguf Header(ulong tensors, ulong kvs, uint version = 3, uint magic = 0x46554747)
    {
        _w.Write(magic);
        _w.Write(version);
        _w.Write(tensors);
        _w.Write(kvs);
        return this;
    }

    public RawGguf String(string text) => StringBytes(Encoding.UTF8.GetBytes(text));

    public RawGguf StringBytes(byte[] bytes)
    {
        _w.Write((ulong)bytes.Length);
        _w.Write(bytes);
        return this;
    }

    public RawGguf U32(uint value) { _w.Write(value); return this; }

    public RawGguf U64(ulong value) { _w.Write(value); return this; }

    public RawGguf U8(byte value) { _w.Write(value); return this; }

    public RawGguf Bytes(byte[] bytes) { _w.Write(bytes); return this; }

    /// <summary>A key with a u32 value.</summary>
    public RawGguf KvU32(string key, uint value) => String(key).U32(4).U32(value);

    /// <summary>A tensor info: name, dims (ggml order), type, offset.</summary>
    public RawGguf Tensor(string name, ulong[] dims, uint type, ulong offset)
    {
        String(name).U32((uint)dims.Length);
        foreach (ulong d in dims) U64(d);
        return U32(type).U64(offset);
    }

    /// <summary>Zero padding up to a multiple of <paramref name="alignment"/>.</summary>
    public RawGguf Align(int alignment = 32)
    {
        while (_bytes.Position % alignment != 0) _w.Write((byte)0);
        return this;
    }

    public byte[] ToArray()
    {
        _w.Flush();
        return _bytes.ToArray();
    }
}
