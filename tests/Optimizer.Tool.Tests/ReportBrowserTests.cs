using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Optimizer.Tool.Tests;

/// <summary>
/// The report as a person sees it: headless Chromium renders the page the tool wrote; the screenshot must have the
/// requested size and real content (ink, several distinct colors, the charts' series colors), which a blank page does
/// not; the DOM after loading must hold the inline SVG charts and no markup injected from token texts.
/// </summary>
public sealed class ReportBrowserTests : IDisposable
{
    private const int Width = 1280, Height = 2000;
    private readonly ReportTestFiles _files = new();
    private readonly ITestOutputHelper _output;

    public ReportBrowserTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Screenshot_of_the_report_shows_charts_while_a_blank_page_does_not_pass_the_same_check()
    {
        string html = _files.Render(ReportTestFiles.FullManifest);
        string png = Path.Combine(_files.Root, "report.png");
        ReportChromium.Screenshot(html, png, Width, Height);
        Assert.True(File.Exists(png), "Chromium wrote no screenshot.");
        ReportPngImage image = ReportPngImage.Decode(File.ReadAllBytes(png));
        Assert.Equal((Width, Height), (image.Width, image.Height));
        ScreenStats stats = ScreenStats.Of(image);
        _output.WriteLine($"report: {stats}");
        Assert.True(stats.NonWhiteShare > 0.2, stats.ToString());
        Assert.True(stats.InkShare > 0.02, stats.ToString());
        Assert.True(stats.DistinctColors >= 12, stats.ToString());
        Assert.True(stats.Near(0xE15759) > 200, $"y6 series / birth marker red: {stats}");
        Assert.True(stats.Near(0x4E79A7) > 200, $"residual / post-γ blue: {stats}");
        Assert.True(stats.Near(0xF28E2B) > 200, $"γ orange: {stats}");
        Assert.True(stats.Near(0x59A14F) > 100, $"residual out green: {stats}");

        string blank = Path.Combine(_files.Root, "blank.html");
        File.WriteAllText(blank, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/></head><body></body></html>");
        string blankPng = Path.Combine(_files.Root, "blank.png");
        ReportChromium.Screenshot(blank, blankPng, Width, Height);
        ScreenStats empty = ScreenStats.Of(ReportPngImage.Decode(File.ReadAllBytes(blankPng)));
        _output.WriteLine($"blank: {empty}");
        Assert.True(empty.NonWhiteShare < 0.01 && empty.InkShare < 0.001 && empty.DistinctColors < 3, empty.ToString());
    }

    [Fact]
    public void Dom_after_rendering_holds_the_svg_charts_and_no_injected_markup()
    {
        string html = _files.Render(ReportTestFiles.FullManifest);
        string dom = ReportChromium.DumpDom(html);

        Assert.Contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart layer-max\"", dom);
        Assert.Contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart layer-ratio\"", dom);
        Assert.Equal(12, Regex.Matches(dom, "<svg [^>]*class=\"chart profile\"").Count);
        Assert.Equal(8, Regex.Matches(dom, "<polyline ").Count); // 4 series in each of the 2 layer charts
        Assert.True(Regex.Matches(dom, "<circle ").Count >= 48);
        // Highlighted channels in all three strips of the two panels with outliers (layer 2 attn, layer 4 ffn).
        Assert.Equal(6, Regex.Matches(dom, "<path class=\"bars outlier\"").Count);
        Assert.DoesNotContain("<script", dom);
        Assert.Contains("&lt;/script&gt;&lt;b&gt;x&amp;amp;", dom);
        Assert.Contains("<table class=\"findings births\">", dom);
    }

    /// <summary>What a screenshot contains, in numbers.</summary>
    private sealed record ScreenStats(double NonWhiteShare, double InkShare, int DistinctColors, IReadOnlyDictionary<int, int> Colors)
    {
        public static ScreenStats Of(ReportPngImage image)
        {
            long nonWhite = 0, ink = 0;
            var colors = new Dictionary<int, int>();
            for (int y = 0; y < image.Height; y++)
            {
                for (int x = 0; x < image.Width; x++)
                {
                    int c = image.Pixel(x, y);
                    int r = c >> 16, g = (c >> 8) & 0xFF, b = c & 0xFF;
                    if (c != 0xFFFFFF) nonWhite++;
                    if (0.299 * r + 0.587 * g + 0.114 * b < 170) ink++;
                    colors[c] = colors.GetValueOrDefault(c) + 1;
                }
            }
            double total = (double)image.Width * image.Height;
            // Quantized to 4 bits per channel; a color counts when it covers at least 20 pixels (not just anti-aliasing).
            int distinct = colors.GroupBy(p => ((p.Key >> 4) & 0xF0000) | ((p.Key >> 4) & 0xF00) | ((p.Key >> 4) & 0xF))
                .Count(g => g.Sum(p => p.Value) >= 20);
            return new ScreenStats(nonWhite / total, ink / total, distinct, colors);
        }

        /// <summary>Pixels within 24 per channel of <paramref name="rgb"/>.</summary>
        public int Near(int rgb) => Colors.Where(p => Math.Abs((p.Key >> 16) - (rgb >> 16)) <= 24
            && Math.Abs(((p.Key >> 8) & 0xFF) - ((rgb >> 8) & 0xFF)) <= 24 && Math.Abs((p.Key & 0xFF) - (rgb & 0xFF)) <= 24).Sum(p => p.Value);

        public override string ToString() =>
            $"non-white {NonWhiteShare:P1}, ink {InkShare:P2}, distinct colors {DistinctColors}, red {Near(0xE15759)}, "
            + $"blue {Near(0x4E79A7)}, orange {Near(0xF28E2B)}, green {Near(0x59A14F)}";
    }
}
