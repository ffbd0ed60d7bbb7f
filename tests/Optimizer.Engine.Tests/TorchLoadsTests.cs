using static TorchSharp.torch;

namespace Optimizer.Engine.Tests;

/// <summary>libtorch and its .NET bridge load in this build output and compute correctly.</summary>
public class TorchLoadsTests
{
    [Fact]
    public void MatrixProductIsCorrect()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }
}
