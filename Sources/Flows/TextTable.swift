/// Columns aligned as Go's `text/tabwriter` aligns them with minimum width 2, padding 3 and spaces
/// (what hubble's table printer and cilium-dbg's lists use): each column but the last is as wide as
/// its widest cell plus 3; the last is not padded.
public enum TextTable {
    /// One line per row; rows may have fewer cells than others.
    public static func align(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 2, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() where i < row.count - 1 { widths[i] = max(widths[i], cell.count + 3) }
        }
        return rows.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count) }
            }
            return line
        }
    }
}
