namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// A GGUF array value: an element type and a typed CLR array of the elements (<c>uint[]</c> for
/// <see cref="GgufValueType.UInt32"/>, <c>string[]</c> for strings, <c>GgufArray[]</c> for nested arrays, …).
/// </summary>
public sealed class GgufArray
{
    /// <summary>Wraps <paramref name="items"/>, whose element CLR type must match <paramref name="elementType"/>.</summary>
    public GgufArray(GgufValueType elementType, Array items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (!GgufValueTypes.IsDefined((uint)elementType))
            throw new ArgumentOutOfRangeException(nameof(elementType), elementType, "Unknown GGUF value type.");
        if (items.GetType().GetElementType() != GgufValueTypes.ClrType(elementType) || items.Rank != 1)
            throw new ArgumentException($"A GGUF {elementType} array needs a {GgufValueTypes.ClrType(elementType).Name}[], not a {items.GetType().Name}.", nameof(items));
        if (items is string?[] strings && strings.Any(s => s is null))
            throw new ArgumentException("A GGUF string array cannot hold null.", nameof(items));
        if (items is GgufArray?[] arrays && arrays.Any(a => a is null))
            throw new ArgumentException("A GGUF nested array cannot hold null.", nameof(items));
        ElementType = elementType;
        Items = items;
    }

    /// <summary>The type of every element.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The elements as a typed CLR array.</summary>
    public Array Items { get; }

    /// <summary>Number of elements.</summary>
    public int Count => Items.Length;

    /// <summary>The elements as <typeparamref name="T"/>[] (e.g. <c>As&lt;string&gt;()</c>); throws when the type differs.</summary>
    public T[] As<T>() => Items as T[]
        ?? throw new InvalidCastException($"The array holds {ElementType} values, not {typeof(T).Name}.");
}
