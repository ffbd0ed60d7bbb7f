using System.Buffers.Binary;
using System.Text;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Hand-built safetensors bytes (any header text, any data), for tests of rejection paths.</summary>
internal static class RawSafetensors
{
    /// <summary>8-byte little-endian header length, the header text, then <paramref name="dataLength"/> bytes 0, 1, 2, ...</summary>
    public static byte[] Build(string headerJson, int dataLength)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (int i = 0; i < dataLength; i++) bytes[8 + header.Length + i] = (byte)i;
        return bytes;
    }

    /// <summary>A header with one entry per (name, dtype, shape, begin, end).</summary>
    public static string Header(params (string Name, string DType, long[] Shape, long Begin, long End)[] entries) =>
        "{" + string.Join(",", entries.Select(e =>
            $"\"{e.Name}\":{{\"dtype\":\"{e.DType}\",\"shape\":[{string.Join(",", e.Shape)}],\"data_offsets\":[{e.Begin},{e.End}]}}")) + "}";
}
