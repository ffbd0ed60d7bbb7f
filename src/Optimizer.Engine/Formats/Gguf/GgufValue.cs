namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// One GGUF metadata value: its <see cref="GgufValueType"/> and the CLR value (<c>byte</c>, <c>sbyte</c>, <c>ushort</c>,
/// <c>short</c>, <c>uint</c>, <c>int</c>, <c>float</c>, <c>bool</c>, <c>string</c>, <see cref="GgufArray"/>,
/// <c>ulong</c>, <c>long</c> or <c>double</c>).
/// </summary>
public sealed class GgufValue
{
    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    /// <summary>The value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>The value, of the CLR type that <see cref="GgufValueTypes.ClrType"/> names for <see cref="Type"/>.</summary>
    public object Value { get; }

    /// <summary>The array, when <see cref="Type"/> is <see cref="GgufValueType.Array"/>; otherwise null.</summary>
    public GgufArray? Array => Value as GgufArray;

    /// <summary>A u8 value.</summary>
    public static GgufValue UInt8(byte value) => new(GgufValueType.UInt8, value);

    /// <summary>An i8 value.</summary>
    public static GgufValue Int8(sbyte value) => new(GgufValueType.Int8, value);

    /// <summary>A u16 value.</summary>
    public static GgufValue UInt16(ushort value) => new(GgufValueType.UInt16, value);

    /// <summary>An i16 value.</summary>
    public static GgufValue Int16(short value) => new(GgufValueType.Int16, value);

    /// <summary>A u32 value.</summary>
    public static GgufValue UInt32(uint value) => new(GgufValueType.UInt32, value);

    /// <summary>An i32 value.</summary>
    public static GgufValue Int32(int value) => new(GgufValueType.Int32, value);

    /// <summary>An f32 value.</summary>
    public static GgufValue Float32(float value) => new(GgufValueType.Float32, value);

    /// <summary>A bool value.</summary>
    public static GgufValue Bool(bool value) => new(GgufValueType.Bool, value);

    /// <summary>A UTF-8 string value.</summary>
    public static GgufValue String(string value) => new(GgufValueType.String, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>A u64 value.</summary>
    public static GgufValue UInt64(ulong value) => new(GgufValueType.UInt64, value);

    /// <summary>An i64 value.</summary>
    public static GgufValue Int64(long value) => new(GgufValueType.Int64, value);

    /// <summary>An f64 value.</summary>
    public static GgufValue Float64(double value) => new(GgufValueType.Float64, value);

    /// <summary>An array value.</summary>
    public static GgufValue FromArray(GgufArray array) => new(GgufValueType.Array, array ?? throw new ArgumentNullException(nameof(array)));

    /// <summary>An array of strings.</summary>
    public static GgufValue Strings(IEnumerable<string> items) => FromArray(new GgufArray(GgufValueType.String, items.ToArray()));

    /// <summary>An array of i32 values.</summary>
    public static GgufValue Int32s(IEnumerable<int> items) => FromArray(new GgufArray(GgufValueType.Int32, items.ToArray()));

    /// <summary>An array of f32 values.</summary>
    public static GgufValue Float32s(IEnumerable<float> items) => FromArray(new GgufArray(GgufValueType.Float32, items.ToArray()));

    /// <summary>
    /// The value of any integer type as a 64-bit signed integer, or null when <see cref="Type"/> is not an integer type
    /// or a u64 exceeds <see cref="long.MaxValue"/>.
    /// </summary>
    public long? AsInteger() => Value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => null,
    };

    /// <summary>The value of a float type (f32 or f64) as a double, or null.</summary>
    public double? AsFloat() => Value switch
    {
        float v => v,
        double v => v,
        _ => null,
    };

    /// <inheritdoc/>
    public override string ToString() => Value switch
    {
        GgufArray a => $"[{a.ElementType} x {a.Count}]",
        string s => s,
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => Value.ToString() ?? "",
    };
}
