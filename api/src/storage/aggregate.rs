//! Aggregate and timeline queries over search matches (spec §3 "aggregate", "timeline").

use chrono::{NaiveDateTime, TimeDelta};
use sea_query::{PostgresQueryBuilder, Query};
use sea_query_postgres::PostgresBinder;

use super::query::Events;
use super::{with_client, EnumColumn, EventStore, Result, SearchParams};

/// What to group by: an enumerable column, or one of the columns Mentat toplists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateColumn {
    Enum(EnumColumn),
    SourceIp,
    TargetIp,
    SourcePort,
    TargetPort,
}

impl AggregateColumn {
    /// The grouped expression as text; scalars get `__unknown__` when missing, as in V3.
    fn expr(self) -> String {
        match self {
            Self::Enum(c) if c.is_scalar() => {
                format!("COALESCE(events.{}, '__unknown__')", c.column())
            }
            Self::Enum(c) => format!("unnest(events.{})", c.column()),
            Self::SourceIp => "unnest(events.source_ip)::text".into(),
            Self::TargetIp => "unnest(events.target_ip)::text".into(),
            Self::SourcePort => "unnest(events.source_port)::text".into(),
            Self::TargetPort => "unnest(events.target_port)::text".into(),
        }
    }
}

/// One timeline row: bucket start, group value (None without a column) and count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineBucket {
    pub bucket: NaiveDateTime,
    pub set: Option<String>,
    pub count: i64,
}

impl EventStore {
    /// `(value, count)` over the matches, most frequent first; `limit` keeps the top N.
    pub async fn aggregate(
        &self,
        params: &SearchParams,
        column: AggregateColumn,
        limit: Option<u32>,
    ) -> Result<Vec<(String, i64)>> {
        let pruning = self.pruning(params).await?;
        let mut q = Query::select();
        q.from(Events::Table)
            .cond_where(params.condition(&pruning))
            .expr_as(sea_query::Expr::cust(column.expr()), sea_query::Alias::new("set"))
            .expr(sea_query::Expr::cust("count(*) AS cnt"))
            .group_by_col(sea_query::Alias::new("set"))
            .order_by_expr(sea_query::Expr::cust("count(*)"), sea_query::Order::Desc)
            .order_by(sea_query::Alias::new("set"), sea_query::Order::Asc);
        if let Some(n) = limit {
            q.limit(u64::from(n));
        }
        let (sql, values) = q.build_postgres(PostgresQueryBuilder);
        let rows = with_client!(self, |c| c.query(sql.as_str(), &values.as_params()))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Counts per time bucket of `step` starting at `origin` (by detection time, or storage
    /// time when `by_storage`), optionally split by a column.
    pub async fn timeline(
        &self,
        params: &SearchParams,
        origin: NaiveDateTime,
        step: TimeDelta,
        by_storage: bool,
        column: Option<AggregateColumn>,
    ) -> Result<Vec<TimelineBucket>> {
        let time = if by_storage { "events.cesnet_storagetime" } else { "events.detecttime" };
        let secs = step.num_seconds().max(1) as f64;
        let pruning = self.pruning(params).await?;
        let mut q = Query::select();
        q.from(Events::Table).cond_where(params.condition(&pruning)).expr_as(
            sea_query::Expr::cust_with_values(
                format!("date_bin(make_interval(secs => $1), {time}, $2)"),
                [sea_query::Value::from(secs), sea_query::Value::from(origin)],
            ),
            sea_query::Alias::new("bucket"),
        );
        match column {
            Some(c) => q.expr_as(sea_query::Expr::cust(c.expr()), sea_query::Alias::new("set")),
            None => q.expr_as(sea_query::Expr::cust("NULL::text"), sea_query::Alias::new("set")),
        };
        q.expr(sea_query::Expr::cust("count(*)"))
            .group_by_col(sea_query::Alias::new("bucket"))
            .group_by_col(sea_query::Alias::new("set"))
            .order_by(sea_query::Alias::new("bucket"), sea_query::Order::Asc)
            .order_by(sea_query::Alias::new("set"), sea_query::Order::Asc);
        let (sql, values) = q.build_postgres(PostgresQueryBuilder);
        let rows = with_client!(self, |c| c.query(sql.as_str(), &values.as_params()))?;
        Ok(rows.iter().map(|r| TimelineBucket { bucket: r.get(0), set: r.get(1), count: r.get(2) }).collect())
    }
}
