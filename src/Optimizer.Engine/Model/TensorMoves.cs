using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Conversions that consume their input. TorchSharp's <c>to</c> returns the same object when nothing changes, so a plain
/// <c>using</c> on the input could dispose the result; these helpers dispose the input only when a new tensor was made.
/// </summary>
internal static class TensorMoves
{
    /// <summary>Converts <paramref name="source"/> to <paramref name="type"/> on <paramref name="device"/>, disposing the source if copied.</summary>
    public static Tensor MoveTo(Tensor source, ScalarType type, Device device)
    {
        Tensor result = source.to(type, device);
        if (!ReferenceEquals(result, source)) source.Dispose();
        return result;
    }

    /// <summary>Moves <paramref name="source"/> to <paramref name="device"/>, disposing the source if copied.</summary>
    public static Tensor MoveTo(Tensor source, Device device)
    {
        Tensor result = source.to(device);
        if (!ReferenceEquals(result, source)) source.Dispose();
        return result;
    }
}
