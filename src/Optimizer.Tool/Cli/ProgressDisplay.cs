using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Optimizer.Tool.Cli;

/// <summary>
/// Progress of one long step on stderr: percent, rate (units per second) and ETA. On a terminal a bar is redrawn in
/// place at most ten times a second; otherwise a plain line is written every few seconds and once at the end; with
/// <see cref="ProgressStyle.None"/> nothing is written. Safe to call from any thread.
/// </summary>
public sealed class ProgressDisplay : IDisposable
{
    private const int BarWidth = 30;
    private static readonly TimeSpan InteractiveInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    private readonly TextWriter _writer;
    private readonly ProgressStyle _style;
    private readonly string _label;
    private readonly string _unit;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private long _total;
    private long _done;
    private TimeSpan _lastDraw = TimeSpan.MinValue;
    private bool _drawnInPlace;
    private bool _finished;

    public ProgressDisplay(TextWriter writer, ProgressStyle style, string label, string unit, long total)
    {
        _writer = writer;
        _style = style;
        _label = label;
        _unit = unit;
        _total = Math.Max(0, total);
    }

    /// <summary>The style this display draws in.</summary>
    public ProgressStyle Style => _style;

    /// <summary>Records that <paramref name="done"/> of <paramref name="total"/> units are complete (total may be refined).</summary>
    public void Report(long done, long total)
    {
        if (_style == ProgressStyle.None) return;
        lock (_gate)
        {
            if (_finished) return;
            _total = Math.Max(0, total);
            _done = Math.Clamp(done, 0, Math.Max(_total, done));
            TimeSpan now = _clock.Elapsed;
            TimeSpan interval = _style == ProgressStyle.Interactive ? InteractiveInterval : PlainInterval;
            if (_lastDraw != TimeSpan.MinValue && now - _lastDraw < interval) return;
            // A plain line right at the start says nothing useful; the first one comes after one interval.
            if (_style == ProgressStyle.Plain && _lastDraw == TimeSpan.MinValue && now < PlainInterval) return;
            Draw(now);
        }
    }

    /// <summary>Draws the final state and ends the line (on a terminal). Later reports are ignored.</summary>
    public void Complete()
    {
        if (_style == ProgressStyle.None) return;
        lock (_gate)
        {
            if (_finished) return;
            _finished = true;
            Draw(_clock.Elapsed);
            if (_drawnInPlace) _writer.WriteLine();
            _writer.Flush();
        }
    }

    /// <summary>Ends an interrupted bar so that a following message starts on its own line.</summary>
    public void Dispose()
    {
        if (_style == ProgressStyle.None) return;
        lock (_gate)
        {
            if (_finished) return;
            _finished = true;
            if (_drawnInPlace)
            {
                _writer.WriteLine();
                _writer.Flush();
            }
        }
    }

    /// <summary>The text of one progress line (without bar), e.g. <c>42% 1,024/2,048 tokens, 812 tokens/s, ETA 0:01</c>.</summary>
    public static string Describe(long done, long total, string unit, TimeSpan elapsed)
    {
        var ci = CultureInfo.InvariantCulture;
        double fraction = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 0;
        var text = new StringBuilder();
        text.Append(((int)Math.Floor(fraction * 100)).ToString(ci).PadLeft(3)).Append("% ");
        text.Append(done.ToString("N0", ci)).Append('/').Append(total.ToString("N0", ci)).Append(' ').Append(unit);
        double seconds = elapsed.TotalSeconds;
        if (seconds > 0 && done > 0)
        {
            double rate = done / seconds;
            text.Append(", ").Append(Units.Rate(rate)).Append(' ').Append(unit).Append("/s");
            if (total > done) text.Append(", ETA ").Append(FormatDuration(TimeSpan.FromSeconds((total - done) / rate)));
        }
        return text.ToString();
    }

    /// <summary>A duration as <c>m:ss</c> or <c>h:mm:ss</c>.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero || duration.TotalHours >= 1000) return "--:--";
        long total = (long)Math.Ceiling(duration.TotalSeconds);
        long h = total / 3600, m = total / 60 % 60, s = total % 60;
        return h > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:00}:{s:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{m}:{s:00}");
    }

    private void Draw(TimeSpan now)
    {
        _lastDraw = now;
        string description = Describe(_done, _total, _unit, now);
        if (_style == ProgressStyle.Interactive)
        {
            double fraction = _total > 0 ? Math.Clamp((double)_done / _total, 0, 1) : 0;
            int filled = (int)Math.Round(fraction * BarWidth);
            // Carriage return, then erase to the end of the line: the bar is redrawn in place.
            _writer.Write($"\r{_label} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {description}\u001b[K");
            _drawnInPlace = true;
        }
        else
        {
            _writer.WriteLine($"{_label}: {description}");
        }
        _writer.Flush();
    }
}
