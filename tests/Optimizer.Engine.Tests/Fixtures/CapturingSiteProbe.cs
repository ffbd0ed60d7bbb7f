using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>Copies every activation the engine's forward offers into <see cref="SiteActivations"/> (small models only).</summary>
internal sealed class CapturingSiteProbe : IActivationProbe
{
    public SiteActivations Activations { get; } = new();

    public bool Wants(int layer, ProbeSite site) => true;

    public void Observe(in ProbeContext context, Tensor activation)
    {
        int rows = context.Rows, channels = (int)activation.shape[1];
        using Tensor cpu = activation.to(ScalarType.Float32, CPU, copy: true).contiguous();
        float[] data = cpu.data<float>().ToArray();
        var matrix = new double[rows][];
        for (int r = 0; r < rows; r++)
        {
            matrix[r] = new double[channels];
            for (int c = 0; c < channels; c++) matrix[r][c] = data[r * channels + c];
        }
        Activations.Set(context.Layer, ProbeSites.Id(context.Site), matrix);
    }
}
