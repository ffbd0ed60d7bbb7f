using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Diagnostics;

/// <summary>Runs the analysis over a synthetic preset folder with a small self-sampled calibration (4 × 32 tokens).</summary>
internal static class PresetAnalysis
{
    public static readonly CalibrationOptions SmallCalibration = new() { SequenceLength = 32, Tokens = 128, SampleBatchSize = 4 };

    public static (ActivationAnalysis Analysis, ModelFolder Model) Run(string folder, AnalysisOptions? options = null, CalibrationOptions? calibration = null)
    {
        var model = ModelFolder.Open(folder);
        try
        {
            return (AnalysisRunner.Run(model, calibration ?? SmallCalibration, options ?? new AnalysisOptions()), model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
