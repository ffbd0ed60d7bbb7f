using System.Runtime.CompilerServices;
using System.Xml;
using System.Xml.Linq;

namespace Optimizer.Tool.Tests;

/// <summary>
/// The hand-written manifests in ReportData/ (following docs/manifest.md), a temporary folder per test, and helpers to
/// render a report with the tool and read it back as XML (the page is well-formed XHTML).
/// </summary>
public sealed class ReportTestFiles : IDisposable
{
    public ReportTestFiles()
    {
        Root = Path.Combine(Path.GetTempPath(), "outlier-opt-report-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    /// <summary>A temporary folder deleted on dispose.</summary>
    public string Root { get; }

    /// <summary>6 layers, hidden 48: one MA family born at layer 1 y6, a super weight, γ outliers, an OTC, odd token texts.</summary>
    public static string FullManifest => Path.Combine(DataFolder(), "manifest-full.json");

    /// <summary>3 layers, hidden 16, scale-free mode, self-sampled calibration, no findings at all.</summary>
    public static string EmptyManifest => Path.Combine(DataFolder(), "manifest-empty.json");

    /// <summary>The repository's docs/outlier-manifest-1.schema.json.</summary>
    public static string Schema => Path.Combine(DataFolder(), "..", "..", "..", "docs", "outlier-manifest-1.schema.json");

    /// <summary>Runs <c>report</c> on <paramref name="manifest"/> into <c>Root/name</c>; fails the test unless it succeeds.</summary>
    public string Render(string manifest, string name = "report.html", params string[] extra)
    {
        string output = Path.Combine(Root, name);
        ToolResult result = ToolProcess.Run(new[] { "report", manifest, "-o", output }.Concat(extra).ToArray());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(output), result.ToString());
        return output;
    }

    /// <summary>The page parsed as XML (throws when it is not well-formed).</summary>
    public static XDocument Load(string htmlPath)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore };
        using var reader = XmlReader.Create(htmlPath, settings);
        return XDocument.Load(reader);
    }

    /// <summary>Elements with local name <paramref name="name"/> whose class list contains <paramref name="cssClass"/>.</summary>
    public static IEnumerable<XElement> ByClass(XContainer root, string name, string cssClass) =>
        root.Descendants().Where(e => e.Name.LocalName == name
            && ((string?)e.Attribute("class") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(cssClass));

    /// <summary>The single findings table with class <paramref name="cssClass"/>.</summary>
    public static XElement Table(XDocument page, string cssClass) => Assert.Single(ByClass(page, "table", cssClass));

    /// <summary>The body rows of a table (the "… and N more" row included).</summary>
    public static List<XElement> Rows(XElement table) =>
        table.Descendants().Where(e => e.Name.LocalName == "tbody").Single().Elements().ToList();

    /// <summary>The text of every cell of a row.</summary>
    public static List<string> Cells(XElement row) => row.Elements().Select(c => c.Value).ToList();

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string DataFolder([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "ReportData");
}
