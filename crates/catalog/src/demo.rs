//! The demo catalog seeded into an empty database (issue 2, "Demo data").
//!
//! It covers the five systems of the seed documents as store kinds: Korean
//! restaurants delivered by riders (seeds 000, 004), a flower shop with limited
//! stock (002), a company canteen that is pickup only (003) and a car repair
//! shop (001). Prices are in won and realistic for Seoul.

use crate::NewStore;
use domain::catalog::{NewMenuItem, Stock};
use domain::{Money, StoreKind, StoreStatus};

/// One demo store, its owner's account and its menu.
#[derive(Debug, Clone)]
pub struct DemoStore {
    /// The owner's login email.
    pub owner_email: &'static str,
    /// The owner's display name.
    pub owner_name: &'static str,
    /// The store.
    pub store: NewStore<'static>,
    /// The menu, in menu order.
    pub items: Vec<NewMenuItem>,
}

/// `(category, name, description, price in won, stock, sold out)`.
type Item = (&'static str, &'static str, &'static str, i64, Option<i64>, bool);

fn items(list: &[Item]) -> Vec<NewMenuItem> {
    list.iter()
        .map(
            |&(category, name, description, price_won, stock, sold_out)| NewMenuItem {
                category: category.into(),
                name: name.into(),
                description: description.into(),
                // Every demo price is a valid amount (a test checks it).
                price: Money::from_won(price_won).unwrap_or(Money::ZERO),
                stock: Stock::from_column(stock),
                sold_out,
            },
        )
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn store(
    name: &'static str,
    kind: StoreKind,
    category: &'static str,
    address: &'static str,
    status: StoreStatus,
    prep: u16,
    delivery: bool,
    pickup: bool,
    min_order_won: i64,
) -> NewStore<'static> {
    NewStore {
        name,
        kind,
        category,
        address,
        status,
        default_prep_minutes: prep,
        offers_delivery: delivery,
        offers_pickup: pickup,
        min_order_won,
    }
}

/// The demo stores, in the order they are created.
pub fn stores() -> Vec<DemoStore> {
    use StoreKind::*;
    use StoreStatus::*;
    vec![
        DemoStore {
            owner_email: "owner.chicken@demo.delivery",
            owner_name: "김치킨 사장님",
            store: store(
                "황금올리브 치킨 역삼점",
                Restaurant,
                "치킨",
                "서울 강남구 테헤란로 152",
                Open,
                25,
                true,
                true,
                15_000,
            ),
            items: items(&[
                (
                    "치킨",
                    "후라이드 치킨",
                    "바삭하게 튀긴 한 마리 후라이드",
                    20_000,
                    None,
                    false,
                ),
                (
                    "치킨",
                    "양념 치킨",
                    "달콤매콤한 양념을 버무린 치킨",
                    21_000,
                    None,
                    false,
                ),
                (
                    "치킨",
                    "간장 마늘 치킨",
                    "간장 마늘 소스를 입힌 치킨",
                    22_000,
                    None,
                    false,
                ),
                ("치킨", "반반 치킨", "후라이드 반, 양념 반", 21_500, None, false),
                (
                    "사이드",
                    "치즈볼 (5개)",
                    "모짜렐라 치즈볼 다섯 개",
                    5_000,
                    Some(12),
                    false,
                ),
                ("사이드", "감자튀김", "시즈닝 감자튀김", 4_000, None, false),
                ("음료", "콜라 1.25L", "코카콜라 1.25리터", 2_500, None, false),
            ]),
        },
        DemoStore {
            owner_email: "owner.bunsik@demo.delivery",
            owner_name: "박분식 사장님",
            store: store(
                "엽기 분식 선릉점",
                Restaurant,
                "분식",
                "서울 강남구 선릉로 428",
                Open,
                15,
                true,
                true,
                12_000,
            ),
            items: items(&[
                (
                    "떡볶이",
                    "엽기 떡볶이",
                    "어묵이 들어간 아주 매운 떡볶이",
                    14_000,
                    None,
                    false,
                ),
                (
                    "떡볶이",
                    "로제 떡볶이",
                    "크림이 부드러운 로제 떡볶이",
                    16_000,
                    None,
                    false,
                ),
                ("김밥", "참치 김밥", "참치마요 김밥", 4_500, None, false),
                ("김밥", "야채 김밥", "기본 야채 김밥", 3_500, None, false),
                (
                    "튀김",
                    "모둠 튀김",
                    "오징어·고구마·만두 모둠 튀김",
                    6_000,
                    Some(3),
                    false,
                ),
                ("튀김", "순대", "소금 후추를 곁들인 순대", 5_000, None, true),
            ]),
        },
        DemoStore {
            owner_email: "owner.chinese@demo.delivery",
            owner_name: "왕중화 사장님",
            store: store(
                "홍콩반점 삼성점",
                Restaurant,
                "중식",
                "서울 강남구 봉은사로 524",
                Open,
                20,
                true,
                false,
                14_000,
            ),
            items: items(&[
                ("면", "짜장면", "춘장 소스 짜장면", 7_000, None, false),
                ("면", "짬뽕", "얼큰한 해물 짬뽕", 8_500, None, false),
                ("밥", "볶음밥", "짜장 소스를 곁들인 계란 볶음밥", 8_000, None, false),
                ("요리", "탕수육 (소)", "바삭한 탕수육 소 사이즈", 16_000, None, false),
                ("요리", "깐풍기", "매콤한 마늘 소스 닭튀김", 22_000, None, false),
                ("만두", "군만두 (8개)", "노릇하게 구운 만두 여덟 개", 5_000, None, false),
            ]),
        },
        DemoStore {
            owner_email: "owner.korean@demo.delivery",
            owner_name: "이한식 사장님",
            store: store(
                "본가 한식당",
                Restaurant,
                "한식",
                "서울 서초구 강남대로 373",
                Open,
                20,
                true,
                true,
                13_000,
            ),
            items: items(&[
                ("찌개", "김치찌개", "돼지고기 김치찌개, 공기밥 포함", 9_000, None, false),
                ("찌개", "된장찌개", "두부 된장찌개, 공기밥 포함", 9_000, None, false),
                ("밥", "제육볶음 정식", "매콤한 제육볶음 정식", 11_000, None, false),
                ("밥", "돌솥 비빔밥", "뜨거운 돌솥에 담은 비빔밥", 10_000, None, false),
                ("탕", "갈비탕", "맑은 소갈비탕", 13_000, Some(8), false),
            ]),
        },
        DemoStore {
            owner_email: "owner.jokbal@demo.delivery",
            owner_name: "최족발 사장님",
            store: store(
                "장충동 왕족발",
                Restaurant,
                "족발·보쌈",
                "서울 중구 장충단로 174",
                Open,
                30,
                true,
                true,
                25_000,
            ),
            items: items(&[
                ("족발", "족발 (중)", "한방 족발 중 사이즈", 35_000, None, false),
                ("족발", "불족발 (중)", "불맛 매운 족발 중 사이즈", 38_000, None, false),
                ("보쌈", "보쌈 (중)", "보쌈김치와 수육", 33_000, None, false),
                ("사이드", "막국수", "시원한 메밀 막국수", 7_000, None, false),
            ]),
        },
        DemoStore {
            owner_email: "owner.pizza@demo.delivery",
            owner_name: "정피자 사장님",
            store: store(
                "청담 화덕피자",
                Restaurant,
                "피자",
                "서울 강남구 도산대로 442",
                Paused,
                25,
                true,
                true,
                18_000,
            ),
            items: items(&[
                ("피자", "마르게리타", "토마토, 모짜렐라, 바질", 19_000, None, false),
                ("피자", "불고기 피자", "불고기를 올린 피자", 23_000, None, false),
                ("피자", "고르곤졸라", "꿀을 찍어 먹는 고르곤졸라", 21_000, None, false),
                (
                    "파스타",
                    "알리오 올리오",
                    "마늘과 올리브유 스파게티",
                    14_000,
                    None,
                    false,
                ),
            ]),
        },
        DemoStore {
            owner_email: "owner.cafe@demo.delivery",
            owner_name: "한카페 사장님",
            store: store(
                "밤편지 카페",
                Restaurant,
                "카페·디저트",
                "서울 마포구 와우산로 94",
                Closed,
                10,
                true,
                true,
                10_000,
            ),
            items: items(&[
                ("커피", "아메리카노", "아메리카노 (따뜻하게/차갑게)", 4_500, None, false),
                ("커피", "카페 라떼", "카페 라떼", 5_000, None, false),
                (
                    "디저트",
                    "크로플",
                    "아이스크림을 올린 크루아상 와플",
                    6_500,
                    Some(10),
                    false,
                ),
                ("디저트", "티라미수", "직접 만든 티라미수", 7_000, Some(0), false),
            ]),
        },
        DemoStore {
            owner_email: "owner.flowers@demo.delivery",
            owner_name: "윤꽃님 사장님",
            store: store(
                "플로라 꽃집",
                FlowerShop,
                "꽃배달",
                "서울 서초구 서초대로 77길 21",
                Open,
                40,
                true,
                // Seed 002: "현장방문 및 판매는 지원하지 않으며" — online orders
                // delivered, no pickup.
                false,
                20_000,
            ),
            items: items(&[
                (
                    "꽃다발",
                    "장미 꽃다발 (20송이)",
                    "빨간 장미 스무 송이 꽃다발",
                    59_000,
                    Some(4),
                    false,
                ),
                ("꽃다발", "튤립 꽃다발", "파스텔 색 제철 튤립", 45_000, Some(6), false),
                (
                    "꽃다발",
                    "프리지아 한 단",
                    "노란 프리지아 한 단",
                    25_000,
                    Some(2),
                    false,
                ),
                (
                    "꽃바구니",
                    "축하 꽃바구니",
                    "백합과 장미 축하 꽃바구니",
                    89_000,
                    Some(3),
                    false,
                ),
                (
                    "화분",
                    "몬스테라 화분",
                    "도자기 화분에 심은 몬스테라",
                    39_000,
                    Some(5),
                    false,
                ),
                (
                    "화분",
                    "호접란 (3대)",
                    "개업 축하용 호접란 3대",
                    120_000,
                    Some(0),
                    false,
                ),
            ]),
        },
        DemoStore {
            owner_email: "owner.canteen@demo.delivery",
            owner_name: "구내식당 영양사",
            store: store(
                "SK 행복 구내식당",
                Canteen,
                "구내식당 (포장 수령)",
                "서울 종로구 종로 26 SK빌딩 B1",
                Open,
                10,
                false,
                true,
                0,
            ),
            items: items(&[
                (
                    "오늘의 메뉴",
                    "한식 정식",
                    "오늘의 한식: 밥, 국, 반찬 세 가지",
                    6_500,
                    Some(80),
                    false,
                ),
                (
                    "오늘의 메뉴",
                    "일품 돈까스",
                    "카레라이스를 곁들인 돈까스",
                    7_000,
                    Some(50),
                    false,
                ),
                (
                    "오늘의 메뉴",
                    "샐러드 도시락",
                    "닭가슴살 샐러드 도시락",
                    6_000,
                    Some(30),
                    false,
                ),
                ("간식", "삶은 계란 (2개)", "삶은 계란 두 개", 1_000, None, false),
                ("간식", "바나나 우유", "바나나맛 우유", 1_500, None, false),
            ]),
        },
        DemoStore {
            owner_email: "owner.repair@demo.delivery",
            owner_name: "강정비 대표",
            store: store(
                "스피드 카센터 강남",
                RepairShop,
                "자동차 정비",
                "서울 강남구 남부순환로 2609",
                Open,
                120,
                true,
                true,
                0,
            ),
            items: items(&[
                (
                    "정기 점검",
                    "엔진오일 교환",
                    "엔진오일과 필터 교환",
                    69_000,
                    None,
                    false,
                ),
                ("정기 점검", "종합 점검", "40개 항목 점검과 점검표", 30_000, None, false),
                (
                    "수리",
                    "브레이크 패드 교체 (앞)",
                    "앞 브레이크 패드 교체",
                    120_000,
                    None,
                    false,
                ),
                ("수리", "배터리 교체", "60Ah 배터리 교체", 140_000, Some(6), false),
                ("수리", "에어컨 가스 충전", "에어컨 냉매 충전", 55_000, None, false),
                (
                    "탁송",
                    "픽업·탁송 서비스",
                    "차를 가져가 정비 후 다시 가져다드립니다",
                    20_000,
                    None,
                    false,
                ),
            ]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_demo_covers_every_store_kind_with_believable_data() {
        let all = stores();
        assert!(all.len() >= 8);
        let kinds: HashSet<StoreKind> = all.iter().map(|s| s.store.kind).collect();
        assert_eq!(kinds.len(), StoreKind::ALL.len(), "every kind has a store");
        let owners: HashSet<&str> = all.iter().map(|s| s.owner_email).collect();
        assert_eq!(owners.len(), all.len(), "an owner for every store");
        for s in &all {
            assert!(s.store.offers_delivery || s.store.offers_pickup, "{}", s.store.name);
            assert!(s.items.len() >= 4, "{} has a real menu", s.store.name);
            for item in &s.items {
                let won = item.price.won();
                assert!(won >= 1_000 && won % 100 == 0, "{}: {won}", item.name);
                assert!(won <= domain::limits::MAX_PRICE_WON, "{}: {won}", item.name);
            }
        }
    }

    #[test]
    fn the_flower_shop_has_limited_stock_and_delivers_only_and_the_canteen_is_pickup_only() {
        let all = stores();
        let flowers = all
            .iter()
            .find(|s| s.store.kind == StoreKind::FlowerShop)
            .expect("flower shop");
        assert!(
            flowers.items.iter().all(|i| i.stock != Stock::Unlimited),
            "requirement F8: every flower is counted"
        );
        assert!(
            flowers.store.offers_delivery && !flowers.store.offers_pickup,
            "seed 002: online orders, no visits to the shop"
        );
        let canteen = all
            .iter()
            .find(|s| s.store.kind == StoreKind::Canteen)
            .expect("canteen");
        assert!(
            canteen.store.offers_pickup && !canteen.store.offers_delivery,
            "F12: pickup only"
        );
    }
}
