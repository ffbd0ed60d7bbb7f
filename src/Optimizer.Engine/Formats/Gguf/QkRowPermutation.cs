namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// The row order change between Hugging Face Llama q/k projections (within a head, row i pairs with row i + d/2 for
/// rotate-half RoPE) and llama.cpp's <c>llama</c> architecture (pairs at rows 2i, 2i+1), as llama.cpp's converter
/// (<c>LlamaModel.permute</c>) does it: source row <c>h*d + part*(d/2) + i</c> moves to row <c>h*d + 2*i + part</c>.
/// </summary>
public static class QkRowPermutation
{
    /// <summary>
    /// Reorders the rows of a row-major matrix (<paramref name="values"/> holds rows x <paramref name="cols"/> values;
    /// a bias is one column) from Hugging Face order to llama.cpp order, or back when <paramref name="inverse"/>.
    /// </summary>
    public static T[] Apply<T>(ReadOnlySpan<T> values, int heads, long cols, bool inverse)
    {
        if (heads <= 0) throw new ArgumentOutOfRangeException(nameof(heads), heads, "Heads must be positive.");
        if (cols <= 0 || values.Length % cols != 0) throw new ArgumentException($"{values.Length} values are not rows of {cols}.", nameof(values));
        long rows = values.Length / cols;
        if (rows % heads != 0 || rows / heads % 2 != 0)
            throw new ArgumentException($"{rows} rows do not split into {heads} heads of an even size.", nameof(values));
        int headDim = (int)(rows / heads);
        int half = headDim / 2;
        var result = new T[values.Length];
        for (int h = 0; h < heads; h++)
        {
            for (int part = 0; part < 2; part++)
            {
                for (int i = 0; i < half; i++)
                {
                    long hf = (long)h * headDim + part * half + i;
                    long gguf = (long)h * headDim + 2 * i + part;
                    long from = inverse ? gguf : hf, to = inverse ? hf : gguf;
                    values.Slice((int)(from * cols), (int)cols).CopyTo(result.AsSpan((int)(to * cols), (int)cols));
                }
            }
        }
        return result;
    }
}
