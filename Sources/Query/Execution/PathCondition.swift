import SegmentFormat

/// A `--where` condition that names paths into json or extra columns, bound block by block: a
/// path's type may differ between blocks, so each comparison reads the path's view for its
/// literal's kind (`PathViews`), typed as that block has it. Fields that name paths are renamed to
/// their view's chunk index; schema columns keep their names.
struct PathCondition: @unchecked Sendable {
    private let expression: Expression
    private let columns: [ColumnDescriptor]
    private let path: String
    private var paths: [(parent: Int, keys: [[UInt8]])] = []

    /// Nil when `e` names no path in a segment with `columns`; `index` gives a field's chunk index
    /// for a view (a path's, `columns.count + 4k + view`).
    init?(_ e: Expression, columns: [ColumnDescriptor], path: String, index: (String, PathViews.View) -> Int?) {
        var named = false
        func renamed(_ field: String, _ view: PathViews.View) -> String {
            guard let i = index(field, view), i >= columns.count else { return field }
            named = true
            return Self.name(i)
        }
        func rewrite(_ e: Expression) -> Expression {
            switch e {
            case let .comparison(f, op, literal):
                return .comparison(field: renamed(f, Self.view(literal)), op: op, value: literal)
            case let .inList(f, literals, negated):
                // One list per kind of literal (NULL in each): a value of another kind is unknown.
                var kinds: [PathViews.View] = []
                for l in literals where l != .null && !kinds.contains(Self.view(l)) { kinds.append(Self.view(l)) }
                if kinds.isEmpty { kinds = [.numeric] }
                let lists = kinds.map { kind in
                    Expression.inList(field: renamed(f, kind), values: literals.filter { $0 == .null || Self.view($0) == kind }, negated: negated)
                }
                if lists.count == 1 || !named { return lists.count == 1 ? lists[0] : e }
                return negated ? .and(lists) : .or(lists)
            case let .isNull(f, negated): return .isNull(field: renamed(f, .raw), negated: negated)
            case let .like(f, pattern, folded, negated):
                return .like(field: renamed(f, .string), pattern: pattern, caseInsensitive: folded, negated: negated)
            case let .and(list): return .and(list.map(rewrite))
            case let .or(list): return .or(list.map(rewrite))
            case let .not(inner): return .not(rewrite(inner))
            case .constant: return e
            }
        }
        let rewritten = rewrite(e)
        guard named else { return nil }
        expression = rewritten
        self.columns = columns
        self.path = path
    }

    /// The condition once every path the query reads is known (their views are numbered).
    func with(paths: [(parent: Int, keys: [[UInt8]])]) -> PathCondition {
        var c = self
        c.paths = paths
        return c
    }

    /// The condition bound with the views' types as the footer tells them, and the block's footer
    /// entry with the views' entries after the columns', for pruning.
    func pruning(_ meta: BlockMeta) throws -> (BoundExpression, BlockMeta) {
        var padded = meta
        var types: [ColumnType] = []
        var unknown = Set<Int>()
        for p in paths {
            for (type, chunk) in PathViews.footer(meta, parent: p.parent, keys: p.keys) {
                if chunk == nil { unknown.insert(columns.count + types.count) }
                types.append(type)
                padded.chunks.append(chunk ?? meta.chunks[p.parent])
            }
        }
        return (Self.maybe(try bind(types), unknown), padded)
    }

    /// `e` with every condition on a view the footer cannot describe made "may match".
    private static func maybe(_ e: BoundExpression, _ unknown: Set<Int>) -> BoundExpression {
        switch e {
        case let .and(list): return .and(list.map { maybe($0, unknown) })
        case let .or(list): return .or(list.map { maybe($0, unknown) })
        case let .not(inner): return .not(maybe(inner, unknown))
        case .constant: return e
        default: return e.columns.isDisjoint(with: unknown) ? e : .constant(.true)
        }
    }

    /// The condition bound with the views' types in the block `data` holds.
    func bind(_ data: BlockData) throws -> BoundExpression {
        var types: [ColumnType] = []
        for k in paths.indices { types += try data.views(path: k).types }
        return try bind(types)
    }

    private func bind(_ types: [ColumnType]) throws -> BoundExpression {
        let views = types.enumerated().map { ColumnDescriptor(name: Self.name(columns.count + $0.offset), type: $0.element, nullable: true) }
        return try BoundExpression.bind(expression, columns: columns + views, path: path)
    }

    private static func name(_ index: Int) -> String { "\u{0}\(index)" }

    private static func view(_ literal: Literal) -> PathViews.View {
        switch literal {
        case .integer, .number: .numeric
        case .string: .string
        case .boolean: .boolean
        case .null: .raw
        }
    }
}
