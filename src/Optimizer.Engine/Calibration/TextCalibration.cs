using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Calibration;

/// <summary>
/// Calibration from text: files and folders (every <c>*.txt</c> below a folder) are read strictly as UTF-8 in ordinal
/// order of their recorded path, each tokenized on its own with the model's tokenizer and cut into sequences of
/// <see cref="CalibrationOptions.SequenceLength"/> tokens (BOS first when the model has one, then consecutive text
/// tokens; a file's remainder shorter than a sequence is dropped). Sequences are taken file after file until the token
/// budget is reached. Every file is read and hashed, also those the budget leaves unused.
/// </summary>
public static class TextCalibration
{
    /// <summary>Builds the calibration set; errors name the offending file.</summary>
    public static CalibrationSet Build(ModelTokenizer tokenizer, CalibrationOptions options)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Paths.Count == 0) throw new ArgumentException("No calibration paths were given.", nameof(options));
        var files = Expand(options.Paths);
        bool bos = tokenizer.BosId is not null;
        int textPerSequence = bos ? options.SequenceLength - 1 : options.SequenceLength;
        var sequences = new List<int[]>();
        var recorded = new List<CalibrationFile>();
        foreach (var (full, shown) in files)
        {
            var (text, bytes, sha) = Utf8TextFile.Read(full, shown, "calibration text");
            recorded.Add(new CalibrationFile(shown, bytes, sha));
            int[] ids = tokenizer.Encode(text, addBos: false);
            if (ids.Length < textPerSequence)
                throw new OptimizerException(ErrorCodes.TextTooShort,
                    $"The calibration text has {ids.Length} token(s); one sequence of {options.SequenceLength} tokens needs {textPerSequence}" +
                    (bos ? " after BOS." : "."), shown);
            for (int start = 0; start + textPerSequence <= ids.Length && sequences.Count < options.SequenceBudget; start += textPerSequence)
            {
                var sequence = new int[options.SequenceLength];
                int offset = 0;
                if (bos) sequence[offset++] = tokenizer.BosId!.Value;
                Array.Copy(ids, start, sequence, offset, textPerSequence);
                sequences.Add(sequence);
            }
        }
        var source = new CalibrationSource(CalibrationSourceKind.Text, recorded, null, null);
        return new CalibrationSet(source, sequences, options.SequenceLength, bos);
    }

    /// <summary>The files to read with the path each is recorded under, sorted by that path (ordinal), without duplicates.</summary>
    internal static IReadOnlyList<(string Full, string Shown)> Expand(IReadOnlyList<string> paths)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string given in paths)
        {
            string full = Path.GetFullPath(given);
            bool relative = !Path.IsPathRooted(given);
            string prefix = given.Replace('\\', '/').TrimEnd('/');
            if (Directory.Exists(full))
            {
                var texts = Directory.EnumerateFiles(full, "*.txt", SearchOption.AllDirectories)
                    .Select(f => (Full: f, Relative: Path.GetRelativePath(full, f).Replace('\\', '/')))
                    .ToList();
                if (texts.Count == 0)
                    throw new OptimizerException(ErrorCodes.TextInvalid, "The calibration folder has no .txt files.", given);
                foreach (var (f, rel) in texts) Add(result, seen, f, relative ? prefix + "/" + rel : rel);
            }
            else if (File.Exists(full))
            {
                Add(result, seen, full, relative ? prefix : Path.GetFileName(full));
            }
            else
            {
                throw new OptimizerException(ErrorCodes.CalibrationPathMissing, "The calibration file or folder does not exist.", given);
            }
        }
        return result.Select(kv => (kv.Value, kv.Key)).ToList();
    }

    private static void Add(SortedDictionary<string, string> result, HashSet<string> seen, string full, string shown)
    {
        if (!seen.Add(full)) return;
        if (result.ContainsKey(shown))
            throw new OptimizerException(ErrorCodes.CalibrationOptionInvalid, $"Two calibration files would be recorded as '{shown}'; give them distinct paths.", full);
        result.Add(shown, full);
    }
}
