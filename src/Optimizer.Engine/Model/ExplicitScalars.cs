using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Tensor operations whose TorchSharp 0.107 shorthands create a <see cref="Scalar"/> implicitly (the <c>+</c> operator
/// and <c>add</c> pass an alpha of 1, <c>square</c> is <c>pow(2)</c>, <c>arange(stop)</c> is <c>arange(0, stop, 1)</c>).
/// An implicit Scalar is freed only by the finalizer thread, which can free it while libtorch still reads it; these
/// helpers make the identical call with explicitly created and disposed Scalars, so results are bit-for-bit unchanged.
/// </summary>
internal static class ExplicitScalars
{
    /// <summary><c>a + b</c>: <c>a.add(b, alpha: 1)</c> with an owned alpha.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        using Scalar one = 1.ToScalar();
        return a.add(b, one);
    }

    /// <summary><c>a + value</c>: <c>a.add(value, alpha: 1)</c> with an owned value and alpha.</summary>
    public static Tensor Add(Tensor a, double value)
    {
        using Scalar scalar = value.ToScalar();
        using Scalar one = 1.ToScalar();
        return a.add(scalar, one);
    }

    /// <summary>In-place <c>a += b</c>: <c>a.add_(b, alpha: 1)</c> with an owned alpha.</summary>
    public static Tensor AddInPlace(Tensor a, Tensor b)
    {
        using Scalar one = 1.ToScalar();
        return a.add_(b, one);
    }

    /// <summary>In-place <c>a += value</c> for an integer value: <c>a.add_(value, alpha: 1)</c> with owned Scalars.</summary>
    public static Tensor AddInPlace(Tensor a, int value)
    {
        using Scalar scalar = value.ToScalar();
        using Scalar one = 1.ToScalar();
        return a.add_(scalar, one);
    }

    /// <summary>Element-wise <c>x²</c>: <c>x.pow(2)</c> with an owned exponent (what <c>Tensor.square()</c> does).</summary>
    public static Tensor Square(Tensor x)
    {
        using Scalar two = 2.ToScalar();
        return x.pow(two);
    }

    /// <summary><c>0, 1, …, stop − 1</c>: <c>arange(0, stop, 1)</c> with owned Scalars.</summary>
    public static Tensor Range(int stop, ScalarType dtype, Device device)
    {
        using Scalar start = 0.ToScalar();
        using Scalar end = stop.ToScalar();
        using Scalar step = 1.ToScalar();
        return arange(start, end, step, dtype, device);
    }
}
