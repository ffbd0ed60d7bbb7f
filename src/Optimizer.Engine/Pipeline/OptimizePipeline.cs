using System.Diagnostics;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Formats.HfExport;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.ErrorCompensation;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// The <c>optimize</c> pipeline (DESIGN.md §2): open the model (Hugging Face folder or GGUF) → calibrate and analyse
/// → plan the mitigations and verify the exact ones (max |Δlogit|) → gate the approximate TMA clamp on held-out
/// perplexity → census on the transformed weights → evaluate the variants against the original → quality gate →
/// write the weights and then the manifest. Every model streams its layers (one decoder layer resident); nothing is
/// written before the gate passed; cancellable between and inside stages.
/// </summary>
public static class OptimizePipeline
{
    /// <summary>Runs the pipeline. A failed quality gate is not an exception: the result says so and nothing was written.</summary>
    public static OptimizeResult Run(OptimizeOptions options, IProgress<OptimizeProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var watch = Stopwatch.StartNew();
        TransformOptions transformOptions = (options.TransformSettings ?? new TransformOptions()) with
        {
            Mitigations = Transforms.Mitigations.Parse(options.Mitigations),
            SkipUnsupported = options.Mitigations.Trim().Equals("all", StringComparison.OrdinalIgnoreCase),
        };
        transformOptions.Validate();
        if (options.Format == OutputFormat.Gguf) QuantizationRecipe.Parse(options.EffectiveQuant);
        else HfExportOptions.Parse(options.EffectiveQuant, options.GroupSize);
        string name = options.EffectiveOutputName;
        if (options.EvalText is { } evalPath)
            FileKind.RequireRegular(evalPath, "evaluation text file", ErrorCodes.CalibrationPathMissing);

        using var folder = ModelFolder.Open(options.Model);
        ArchitectureSupport.Check(transformOptions, folder.Config); // fails before the analysis when a named mitigation cannot apply
        CheckOutputs(folder, options, name);
        using var outputLock = OutputFolderLock.Acquire(options.Output, options.Output);
        ModelConfig config = folder.Config;
        ImportanceMatrix? given = options.ImportanceMatrix ?? (options.Imatrix is { } imatrixPath ? ImatrixFile.Read(imatrixPath) : null);
        given?.CheckFits(config);
        int maxPositions = config.MaxPositionEmbeddings;
        int sequenceLength = options.SequenceLength;
        if (sequenceLength > maxPositions)
            throw new OptimizerException(ErrorCodes.OptimizeOptionInvalid,
                $"The calibration sequence length {sequenceLength} is longer than model '{name}' supports (max_position_embeddings is {maxPositions}).");
        int concurrent = VariantEvaluation.CandidateCount;
        if (options.MaxMemoryBytes is long budget)
            concurrent = MemoryEstimate.ForRun(options, config, folder.Weights).Check(budget, name, concurrent);

        var modelOptions = new ModelOptions { Device = options.Device, StreamLayers = true };
        bool gguf = options.Format == OutputFormat.Gguf;
        // The imatrix candidates need the original model's importance matrix: collected in the analysis pass itself.
        var analysisOptions = new AnalysisOptions { BatchSize = options.BatchSize, Model = modelOptions, ImportanceMatrix = (gguf && given is null) || options.ImatrixOut is not null };
        var channelOptions = new ChannelOutlierOptions();
        var calibration = new CalibrationOptions
        {
            Paths = options.Calibration, SequenceLength = sequenceLength, Tokens = options.CalibrationTokens, Seed = options.Seed,
        };
        var analysisProgress = progress is null ? null : new Relay<AnalysisProgress>(p =>
            progress.Report(new OptimizeProgress(p.Stage, p.Done, p.Total, p.Stage == "sampling" ? "tokens" : "sequences", watch.Elapsed)));
        OutlierAnalysisResult analysis = OutlierAnalysis.Run(folder, calibration, analysisOptions, channelOptions, options.ToolVersion, analysisProgress, ct);
        var warnings = new List<string>(analysis.Warnings);

        ct.ThrowIfCancellationRequested();
        var text = EvaluationText.Build(folder, options, modelOptions, sequenceLength - 1, progress, watch, ct);

        using var transforms = TransformStage.Run(analysis, transformOptions, options, text, modelOptions, progress, watch, ct);
        warnings.AddRange(transforms.Warnings);
        ImportanceMatrix? originalImportance = gguf ? given ?? ImportanceCollection.FromAnalysis(analysis.Analysis) : null;
        ImportanceMatrix? transformedImportance = originalImportance is null || !transforms.Mitigated ? originalImportance
            : ImportanceAdjustment.Apply(originalImportance, transforms.Plan);
        if (given is not null) warnings.AddRange(ImportanceWarnings(options, config, transforms.Plan, transformedImportance!));

        ct.ThrowIfCancellationRequested();
        var censusProgress = progress is null ? null : new Relay<AnalysisProgress>(p =>
            progress.Report(new OptimizeProgress("census-after", p.Done, p.Total, "sequences", watch.Elapsed)));
        var censusOptions = analysisOptions with { ImportanceMatrix = options.ImatrixOut is not null };
        ActivationAnalysis after = AnalysisRunner.Run(folder.WithWeights(transforms.Weights), analysis.Analysis.Calibration, censusOptions, censusProgress, ct);
        ImportanceMatrix? collectedAfter = options.ImatrixOut is null ? null : ImportanceCollection.FromAnalysis(after);

        var owned = new List<IDisposable>();
        using var ownedStages = new DisposeAll(owned);
        var candidates = Candidates(options, config, folder.Weights, transforms, originalImportance, transformedImportance,
            analysis.Analysis.Calibration, modelOptions, progress, watch, ct, (analysis, transformOptions, text, owned));
        IReadOnlyList<VariantResult> variants = VariantEvaluation.Run(config, folder.Weights, transforms.Weights, transforms.Mitigated,
            candidates.Select(c => c.Plan).ToArray(), analysis.Analysis.Calibration, text, modelOptions, options.BatchSize, concurrent, progress, watch, ct);
        var (chosen, selection) = CandidateSelection.Choose(variants, options.MitigationsExplicit && transforms.Mitigated, imatrixExplicit: given is not null);
        variants = chosen;
        if (selection.Warning is { } lost) warnings.Add(lost);
        var winner = candidates.Single(c => c.Plan.Name == selection.Selected);
        // --imatrix-out describes the written weights: the transformed model's statistics, or the original's.
        ImportanceMatrix? collected = options.ImatrixOut is null ? null
            : winner.Plan.Mitigated ? collectedAfter : ImportanceCollection.FromAnalysis(analysis.Analysis);
        long originalBytes = folder.Files.Sum(f => f.Size);
        VariantResult writtenVariant = variants.Single(v => v.Name == selection.Selected);
        QualityGateResult gate = QualityGate.Evaluate(name, variants[0].Perplexity, writtenVariant, options);
        variants = variants.Select(v => v.Name == "original" ? v with { FileBytes = originalBytes } : v).ToArray();
        ImportanceMatrix? writtenImportance = winner.Plan.Imatrix ? winner.Importance : null;
        if (!gate.Passed)
            return new OptimizeResult(name, null, Array.Empty<OptimizeOutput>(), variants, gate, transforms.Record.MaxAbsDeltaLogit, warnings, analysis.Device, watch.Elapsed)
            {
                Importance = writtenImportance,
                CollectedImportance = collected,
                Selection = selection,
            };

        ct.ThrowIfCancellationRequested();
        var selectionRecord = new SelectionRecord(options.Search == SearchMode.Quick ? "quick" : "full", options.MitigationsExplicit ? "explicit" : "auto",
            selection.Selected, selection.Rule, selection.Constraint, selection.BetterExcluded, CandidateSelection.TieTolerance);
        var evaluation = new ManifestEvaluation(text.Record,
            variants.Select(v => new EvaluationVariantRecord(v.Name, v.Weights, v.Activations, v.Mitigated, v.Perplexity, v.PerplexityIncrease,
                v.KlDivergence, v.Top1Agreement, v.Tokens)
            {
                Candidate = v.Candidate ? new CandidateRecord(v.Selected, v.Imatrix, v.Compensated, v.TensorBytes) : null,
            }).ToArray(),
            new QualityGateRecord(gate.FailAbovePplIncrease, gate.FailAboveKld, gate.PerplexityIncrease, gate.KlDivergence, gate.Passed))
        {
            Selection = selectionRecord,
        };
        var compensation = winner.Compensation?.Select(c => new CompensationRecord(c.Tensor, c.Type, c.Damping, c.Skipped)).ToArray();
        OutlierManifest Complete(ManifestQuantization quantization, IReadOnlyList<ManifestOutput> outputs) => analysis.Manifest with
        {
            Model = analysis.Manifest.Model with { Name = name },
            Transforms = TransformsOf(winner, transforms, candidates),
            CensusAfter = ManifestBuilder.Census(after.Census),
            Quantization = quantization with { Imatrix = writtenImportance is not null, Compensation = compensation },
            Evaluation = evaluation,
            Outputs = outputs,
        };
        OptimizeOutput? imatrixOutput = collected is null ? null : WriteImportance(options.ImatrixOut!, collected, ct);
        IReadOnlyList<OptimizeOutput> files;
        OutlierManifest manifest;
        try
        {
            (files, manifest) = OutputStage.Write(folder, winner.Plan.Source, options, name, Complete, progress, watch, ct, writtenImportance, winner.Encoded);
        }
        catch
        {
            if (imatrixOutput is not null) TryDelete(imatrixOutput.Path);
            throw;
        }
        long writtenBytes = files.Where(f => f.Kind is not (ManifestOutput.Manifest or ManifestOutput.Imatrix)).Sum(f => f.Bytes);
        variants = variants.Select(v => v.Selected ? v with { FileBytes = writtenBytes } : v).ToArray();
        if (imatrixOutput is not null) files = files.Take(files.Count - 1).Append(imatrixOutput).Append(files[^1]).ToArray();
        return new OptimizeResult(name, manifest, files, variants, gate, transforms.Record.MaxAbsDeltaLogit, warnings, analysis.Device, watch.Elapsed)
        {
            Importance = writtenImportance,
            CollectedImportance = collected,
            Selection = selection,
        };
    }

    /// <summary>
    /// The manifest's transforms: the planned ones, then those of the awq stage when it ran; each <c>kept</c> only when the
    /// written candidate contains it, else <c>not-selected</c>.
    /// </summary>
    private static ManifestTransforms TransformsOf(Candidate winner, TransformStage transforms, IReadOnlyList<Candidate> candidates)
    {
        bool main = winner.Plan.Mitigated && winner.Awq is null;
        var applied = transforms.Record.Applied.Select(e => main ? e : NotWritten(e)).ToList();
        if (candidates.Select(c => c.Awq).FirstOrDefault(a => a is not null) is { } awq)
            applied.AddRange(awq.Record.Applied.Select(e => ReferenceEquals(winner.Awq, awq) ? e : NotWritten(e)));
        return transforms.Record with
        {
            Applied = applied,
            MaxAbsDeltaLogit = winner.Awq is { } written ? written.Record.MaxAbsDeltaLogit : transforms.Record.MaxAbsDeltaLogit,
        };
    }

    private sealed class DisposeAll(List<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items) item.Dispose();
            items.Clear();
        }
    }

    /// <summary>A transform that the written (unmitigated) candidate does not contain.</summary>
    private static TransformEntry NotWritten(TransformEntry entry) =>
        entry.Status == TransformEntry.Kept ? entry with { Status = TransformEntry.NotSelected } : entry;

    /// <summary>A candidate file with what the exporter needs to write it.</summary>
    private sealed record Candidate(CandidatePlan Plan, ImportanceMatrix? Importance, EncodedWeights? Encoded, IReadOnlyList<CompensatedTensor>? Compensation)
    {
        /// <summary>The transforms of an <c>awq</c> candidate (its own stage), or null for the others.</summary>
        public TransformStage? Awq { get; init; }
    }

    /// <summary>
    /// The candidate files (docs/quantization.md "Candidates"), simplest first. GGUF: <c>stock</c> (llama.cpp's file),
    /// <c>imatrix</c> (llama-quantize --imatrix with the calibration's importance matrix, or the given one),
    /// <c>compensated</c> (error-compensating rounding); with kept transforms also <c>mitigated-imatrix</c> and, with
    /// <c>--search full</c>, <c>mitigated-compensated</c>. Safetensors: <c>stock</c> and, with kept transforms, <c>mitigated</c>.
    /// A candidate that would store the same bytes as a simpler one is not built (<c>imatrix</c> where every type ignores
    /// importance, e.g. Q8_0: then <c>mitigated</c> replaces <c>mitigated-imatrix</c>; <c>compensated</c> where no type has
    /// a block grid, e.g. F16). With an explicit <c>--mitigations</c> list all are still built, so that the table shows what
    /// the list costs; <see cref="CandidateSelection"/> restricts the choice.
    /// </summary>
    private static IReadOnlyList<Candidate> Candidates(OptimizeOptions options, ModelConfig config, ITensorSource original, TransformStage transforms,
        ImportanceMatrix? originalImportance, ImportanceMatrix? transformedImportance, CalibrationSet calibration, ModelOptions modelOptions,
        IProgress<OptimizeProgress>? progress, Stopwatch watch, CancellationToken ct,
        (OutlierAnalysisResult Analysis, TransformOptions Transforms, EvaluationText Text, List<IDisposable> Owned) awqInputs)
    {
        var list = new List<Candidate>();
        string recipeName = options.EffectiveQuant;
        if (options.Format != OutputFormat.Gguf)
        {
            IWeightRoundTrip written = WrittenRoundTrip(options, config, null);
            if (options.Candidates is not { } only || only.Contains("stock"))
                list.Add(new Candidate(new CandidatePlan("stock", recipeName, false, false, false, 0, original, written, null), null, null, null));
            if (transforms.Mitigated && (options.Candidates is not { } wanted || wanted.Contains("mitigated")))
                list.Add(new Candidate(new CandidatePlan("mitigated", recipeName, true, false, false, 3, transforms.Weights, written, null), null, null, null));
            if (list.Count == 0)
                throw new OptimizerException(ErrorCodes.OptimizeOptionInvalid,
                    $"None of the candidates asked for ({string.Join(", ", options.Candidates!)}) applies to safetensors output, which has stock and (with kept transforms) mitigated.");
            return list;
        }
        QuantizationRecipe recipe = QuantizationRecipe.Parse(recipeName);
        var stock = new GgufRoundTrip(recipe, config);
        // By default a candidate that would store the same bytes as a simpler one is not built: no importance matrix where
        // every type ignores it (Q8_0, F16 …), no compensation where no type has a block grid (F16, BF16, F32).
        var linears = LlamaTensorNames.Expected(config).Where(t => t.Layer >= 0 && t.Shape.Length == 2).ToArray();
        var withImatrix = originalImportance is null ? null : new GgufRoundTrip(recipe, config, originalImportance);
        bool usesImportance = withImatrix?.UsesImportance ?? false;
        bool compensable = linears.Any(t => stock.TypeOf(t.Name) is GgmlType type && ErrorCompensatedRounding.Supports(type, t.Shape[1]));
        bool Want(string candidate, bool byDefault) => options.Candidates is { } asked ? asked.Contains(candidate, StringComparer.Ordinal) : byDefault;
        if (Want("stock", true))
            list.Add(new Candidate(new CandidatePlan("stock", recipeName, false, false, false, 0, original, stock, stock.TensorBytes()), null, null, null));
        // A given --imatrix is honoured: its candidates are built even where the recipe ignores it (the file then carries
        // llama-quantize's provenance keys), and only they may win.
        bool imatrixGiven = options.Imatrix is not null || options.ImportanceMatrix is not null;
        if (withImatrix is not null && Want("imatrix", usesImportance || imatrixGiven))
        {
            list.Add(new Candidate(new CandidatePlan("imatrix", recipeName, false, true, false, 1, original, withImatrix, withImatrix.TensorBytes()),
                originalImportance, null, null));
        }
        if (compensable && Want("compensated", true))
        {
            var (encoded, records) = Compensate(config, original, stock, calibration, options, modelOptions, "compensating", progress, watch, ct);
            list.Add(new Candidate(new CandidatePlan("compensated", recipeName, false, false, true, 2, original, encoded, stock.TensorBytes()),
                null, encoded, records));
        }
        if (transforms.Mitigated)
        {
            if (Want("mitigated", !usesImportance && !imatrixGiven))
                list.Add(new Candidate(new CandidatePlan("mitigated", recipeName, true, false, false, 3, transforms.Weights, stock, stock.TensorBytes()),
                    null, null, null));
            if (transformedImportance is not null && Want("mitigated-imatrix", usesImportance || imatrixGiven))
            {
                var mitigatedImatrix = new GgufRoundTrip(recipe, config, transformedImportance);
                list.Add(new Candidate(new CandidatePlan("mitigated-imatrix", recipeName, true, true, false, 4, transforms.Weights, mitigatedImatrix,
                    mitigatedImatrix.TensorBytes()), transformedImportance, null, null));
            }
            if (compensable && Want("mitigated-compensated", options.Search == SearchMode.Full))
            {
                var (mitigatedEncoded, mitigatedRecords) = Compensate(config, transforms.Weights, stock, calibration, options, modelOptions,
                    "compensating-mitigated", progress, watch, ct);
                list.Add(new Candidate(new CandidatePlan("mitigated-compensated", recipeName, true, false, true, 5, transforms.Weights, mitigatedEncoded,
                    stock.TensorBytes()), null, mitigatedEncoded, mitigatedRecords));
            }
        }
        // Activation-aware scaling (awq) is its own transform set, searched against the recipe's round trip; not with an
        // explicit --mitigations list (the user chose the transforms) and only where the recipe has quantized types.
        bool awqWanted = compensable && !options.MitigationsExplicit
            && (options.Candidates is { } names ? names.Any(n => n.StartsWith("awq", StringComparison.Ordinal)) : options.Search == SearchMode.Full);
        if (awqWanted)
        {
            var awqOptions = awqInputs.Transforms with { Mitigations = Mitigation.Awq, WeightTarget = stock };
            var awq = TransformStage.Run(awqInputs.Analysis, awqOptions, options, awqInputs.Text, modelOptions, progress, watch, ct);
            awqInputs.Owned.Add(awq);
            if (awq.Mitigated)
            {
                ImportanceMatrix? awqImportance = originalImportance is null ? null : ImportanceAdjustment.Apply(originalImportance, awq.Plan);
                if (awqImportance is not null && Want("awq-imatrix", usesImportance || imatrixGiven))
                {
                    var roundTrip = new GgufRoundTrip(recipe, config, awqImportance);
                    list.Add(new Candidate(new CandidatePlan("awq-imatrix", recipeName, true, true, false, 6, awq.Weights, roundTrip, roundTrip.TensorBytes()),
                        awqImportance, null, null) { Awq = awq });
                }
                else if (Want("awq", !imatrixGiven))
                {
                    list.Add(new Candidate(new CandidatePlan("awq", recipeName, true, false, false, 6, awq.Weights, stock, stock.TensorBytes()),
                        null, null, null) { Awq = awq });
                }
                if (Want("awq-compensated", options.Search == SearchMode.Full))
                {
                    var (awqEncoded, awqRecords) = Compensate(config, awq.Weights, stock, calibration, options, modelOptions, "compensating-awq", progress, watch, ct);
                    list.Add(new Candidate(new CandidatePlan("awq-compensated", recipeName, true, false, true, 7, awq.Weights, awqEncoded, stock.TensorBytes()),
                        null, awqEncoded, awqRecords) { Awq = awq });
                }
            }
        }
        if (list.Count == 0)
            throw new OptimizerException(ErrorCodes.OptimizeOptionInvalid,
                $"None of the candidates asked for ({string.Join(", ", options.Candidates!)}) applies to this run: " + (transforms.Mitigated ? "" : "no transform was kept, so there is no mitigated candidate; ")
                + $"{recipeName} " + (compensable ? "" : "has no type that compensated rounding can write; ") + "choose others (see docs/quantization.md \"Candidates\").");
        return list;
    }

    private static (EncodedWeights, IReadOnlyList<CompensatedTensor>) Compensate(ModelConfig config, ITensorSource weights, GgufRoundTrip target,
        CalibrationSet calibration, OptimizeOptions options, ModelOptions modelOptions, string stage, IProgress<OptimizeProgress>? progress,
        Stopwatch watch, CancellationToken ct)
    {
        var report = progress is null ? null : new Relay<CompensationProgress>(p =>
            progress.Report(new OptimizeProgress(stage, p.Done, p.Total, "layers", watch.Elapsed)));
        return LayerwiseCompensation.Run(config, weights, target, calibration.Sequences, options.BatchSize, modelOptions, report, ct);
    }

    /// <summary>
    /// Before any work: every output (weights, manifest, result file) is writable and none of them is, or replaces a
    /// folder holding, a file this run reads; a stale result file of an earlier run is deleted.
    /// </summary>
    private static void CheckOutputs(ModelFolder folder, OptimizeOptions options, string name)
    {
        var inputs = new InputSet().AddModel(folder);
        foreach (string path in options.Calibration) inputs.AddPath(path);
        if (options.EvalText is { } eval) inputs.AddFile(eval);
        foreach (string path in options.OtherInputs) inputs.AddFile(path);
        if (options.Imatrix is { } imatrix) inputs.AddFile(imatrix);
        OutputPaths.CheckFolder(options.Output, "output folder");
        if (options.ImatrixOut is { } imatrixOut) OutputPaths.CheckFile(imatrixOut, inputs, "importance matrix output", folderMayBeCreated: true);
        string output = Path.GetFullPath(options.Output);
        if (options.Format == OutputFormat.Gguf)
            OutputPaths.CheckFile(Path.Combine(output, name + ".gguf"), inputs, "weights file", folderMayBeCreated: true);
        else
            OutputPaths.CheckReplacedFolder(Path.Combine(output, name), inputs, "weights folder");
        string manifest = Path.Combine(output, name + OutputStage.ManifestSuffix);
        OutputPaths.CheckFile(manifest, inputs, "manifest", folderMayBeCreated: true);
        if (options.ResultFile is { } result)
        {
            string real = OutputPaths.RealPath(result);
            string weights = OutputPaths.RealPath(options.WeightsPath);
            if (real == OutputPaths.RealPath(manifest) || real == weights || real.StartsWith(weights + "/", StringComparison.Ordinal))
                throw new OptimizerException(ErrorCodes.OutputIsInput, "The result file would overwrite one of the run's own outputs; choose another path.", result);
            OutputPaths.CheckFile(result, inputs, "result file");
            // A stale result file from an earlier run must never be mistaken for this run's.
            if (File.Exists(result)) File.Delete(result);
        }
    }

    /// <summary>Writes the collected importance matrix (GGUF imatrix, temporary file + rename) and describes the file.</summary>
    private static OptimizeOutput WriteImportance(string path, ImportanceMatrix matrix, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        try
        {
            if (folder is not null) Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The folder of the importance-matrix output cannot be created: {ex.Message}", path, inner: ex);
        }
        var result = ImatrixFile.Write(full, matrix, ct);
        return new OptimizeOutput(result.Path, Path.GetFileName(result.Path), ManifestOutput.Imatrix, result.Bytes, result.Sha256);
    }

    /// <summary>What the user should know about a given importance matrix: an approximate carry-over past a kept clamp, a recipe that ignores it.</summary>
    private static IEnumerable<string> ImportanceWarnings(OptimizeOptions options, ModelConfig config, TransformPlan plan, ImportanceMatrix importance)
    {
        if (!plan.IsExact)
            yield return "tma-clamp changes the activations after the clamped layers, so the importance matrix carried over the transforms is exact only up to them; "
                + "collect one on the optimized model (--imatrix-out) for exact statistics.";
        if (!new GgufRoundTrip(QuantizationRecipe.Parse(options.EffectiveQuant), config, importance).UsesImportance)
            yield return $"{options.EffectiveQuant} does not use an importance matrix (ggml's quantizers of its types ignore it); "
                + "the weights are the same as without it, only the quantize.imatrix.* metadata is added.";
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The weight round trip of exactly what is written (GGUF recipe with the importance matrix, int8/int4, or float storage).</summary>
    private static IWeightRoundTrip WrittenRoundTrip(OptimizeOptions options, ModelConfig config, ImportanceMatrix? importance)
    {
        if (options.Format == OutputFormat.Gguf) return new GgufRoundTrip(QuantizationRecipe.Parse(options.EffectiveQuant), config, importance);
        HfExportOptions export = HfExportOptions.Parse(options.EffectiveQuant, options.GroupSize);
        return (IWeightRoundTrip?)export.CreateRoundTrip(config) ?? new GgufRoundTrip(QuantizationRecipe.Parse(options.EffectiveQuant), config);
    }

    private sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
