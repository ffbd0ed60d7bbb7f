using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>Llama's RMSNorm: <c>w * x / sqrt(mean(x²) + eps)</c>, computed in float32 (as Hugging Face does).</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter weight;

    public RmsNorm(string name, long size, double eps) : base(name)
    {
        _eps = eps;
        weight = new Parameter(ones(size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.pow(2).mean(new long[] { -1 }, keepdim: true);
        return (x * rsqrt(variance + _eps) * weight).MoveToOuterDisposeScope();
    }
}
